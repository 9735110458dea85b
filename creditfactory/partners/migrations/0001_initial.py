"""The partner platform's models, moved here from ``organisations`` (partners, API keys, the
partner's history) and ``core`` (idempotency keys, webhooks, usage statistics) with their tables:
state only, every table keeps its name and its rows. The old apps drop the models from their
state in ``organisations.0003`` and ``core.0003``; ``0002`` moves the content types."""

import creditfactory.core.pii
import django.core.serializers.json
import django.core.validators
import django.db.models.deletion
import simple_history.models
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('organisations', '0002_standard_roles'),
        ('products', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='HistoricalPartner',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('created_at', models.DateTimeField(blank=True, db_index=True, editable=False, verbose_name='created at')),
                    ('code', models.SlugField(help_text='Stable identifier, shown to the partner and in logs.', max_length=32, verbose_name='code')),
                    ('name', models.CharField(max_length=120, verbose_name='name')),
                    ('kind', models.CharField(choices=[('channel', 'Channel (渠道)'), ('facilitation_platform', 'Loan-facilitation platform (助贷)'), ('co_lending_bank', 'Co-lending bank (联合贷)')], default='channel', max_length=24, verbose_name='kind')),
                    ('is_active', models.BooleanField(default=True, help_text="An inactive partner's keys stop working.", verbose_name='active')),
                    ('throttle_rate', models.CharField(blank=True, help_text='e.g. 120/min; empty means the platform default (PARTNER_DEFAULT_THROTTLE_RATE).', max_length=32, validators=[django.core.validators.RegexValidator('^[1-9]\\d*/(s|sec|second|m|min|minute|h|hour|d|day)$', 'Use the form <count>/<period>, e.g. 120/min, 10/s, 5000/day.')], verbose_name='rate limit')),
                    ('require_signature', models.BooleanField(default=False, help_text='Every request must carry X-CF-Timestamp and X-CF-Signature (HMAC-SHA256).', verbose_name='require request signatures')),
                    ('contact_email', models.EmailField(blank=True, max_length=254, verbose_name='technical contact')),
                    ('history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history_date', models.DateTimeField(db_index=True)),
                    ('history_change_reason', models.CharField(max_length=100, null=True)),
                    ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                    ('branch', models.ForeignKey(blank=True, db_constraint=False, help_text='The branch that owns the applications this partner sends.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='organisations.branch', verbose_name='home branch')),
                    ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name': 'historical partner',
                    'verbose_name_plural': 'historical partners',
                    'db_table': 'organisations_historicalpartner',
                    'ordering': ('-history_date', '-history_id'),
                    'get_latest_by': ('history_date', 'history_id'),
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='Partner',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='created at')),
                    ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                    ('code', models.SlugField(help_text='Stable identifier, shown to the partner and in logs.', max_length=32, unique=True, verbose_name='code')),
                    ('name', models.CharField(max_length=120, verbose_name='name')),
                    ('kind', models.CharField(choices=[('channel', 'Channel (渠道)'), ('facilitation_platform', 'Loan-facilitation platform (助贷)'), ('co_lending_bank', 'Co-lending bank (联合贷)')], default='channel', max_length=24, verbose_name='kind')),
                    ('is_active', models.BooleanField(default=True, help_text="An inactive partner's keys stop working.", verbose_name='active')),
                    ('throttle_rate', models.CharField(blank=True, help_text='e.g. 120/min; empty means the platform default (PARTNER_DEFAULT_THROTTLE_RATE).', max_length=32, validators=[django.core.validators.RegexValidator('^[1-9]\\d*/(s|sec|second|m|min|minute|h|hour|d|day)$', 'Use the form <count>/<period>, e.g. 120/min, 10/s, 5000/day.')], verbose_name='rate limit')),
                    ('require_signature', models.BooleanField(default=False, help_text='Every request must carry X-CF-Timestamp and X-CF-Signature (HMAC-SHA256).', verbose_name='require request signatures')),
                    ('signing_secret', creditfactory.core.pii.EncryptedTextField(blank=True, editable=False, verbose_name='request signing secret')),
                    ('webhook_secret', creditfactory.core.pii.EncryptedTextField(blank=True, editable=False, help_text='Signs webhooks of endpoints that have no secret of their own.', verbose_name='webhook secret')),
                    ('contact_email', models.EmailField(blank=True, max_length=254, verbose_name='technical contact')),
                    ('branch', models.ForeignKey(help_text='The branch that owns the applications this partner sends.', on_delete=django.db.models.deletion.PROTECT, related_name='partners', to='organisations.branch', verbose_name='home branch')),
                    ('products', models.ManyToManyField(blank=True, db_table='organisations_partner_products', help_text='Products this partner may originate.', related_name='partners', to='products.loanproduct', verbose_name='allowed products')),
                ],
                options={
                    'verbose_name': 'partner',
                    'verbose_name_plural': 'partners',
                    'db_table': 'organisations_partner',
                    'ordering': ['code'],
                    'permissions': [('issue_partner_credentials', 'Can issue partner API keys and secrets')],
                },
            ),
            migrations.CreateModel(
                name='HistoricalPartner_products',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('m2m_history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, to='partners.historicalpartner')),
                    ('loanproduct', models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='products.loanproduct')),
                    ('partner', models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='partners.partner')),
                ],
                options={
                    'verbose_name': 'HistoricalPartner_products',
                    'db_table': 'organisations_historicalpartner_products',
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='PartnerApiKey',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(help_text='What the key is for, e.g. production, UAT.', max_length=80, verbose_name='name')),
                    ('prefix', models.CharField(db_index=True, editable=False, max_length=16, verbose_name='prefix')),
                    ('key_hash', models.CharField(editable=False, max_length=64, unique=True, verbose_name='key hash')),
                    ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                    ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='last used at')),
                    ('revoked_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='revoked at')),
                    ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                    ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to='partners.partner', verbose_name='partner')),
                    ('revoked_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='revoked by')),
                ],
                options={
                    'verbose_name': 'partner API key',
                    'verbose_name_plural': 'partner API keys',
                    'db_table': 'organisations_partnerapikey',
                    'ordering': ['partner__code', '-created_at'],
                },
            ),
            migrations.CreateModel(
                name='WebhookDelivery',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name='delivery id')),
                    ('status', models.CharField(choices=[('pending', 'Pending'), ('succeeded', 'Delivered'), ('failed', 'Gave up'), ('cancelled', 'Cancelled (endpoint removed)')], default='pending', max_length=16, verbose_name='status')),
                    ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                    ('next_attempt_at', models.DateTimeField(blank=True, null=True, verbose_name='next attempt at')),
                    ('last_status_code', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='last HTTP status')),
                    ('last_error', models.CharField(blank=True, max_length=500, verbose_name='last error')),
                    ('delivered_at', models.DateTimeField(blank=True, null=True, verbose_name='delivered at')),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='created at')),
                    ('redelivery_of', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='partners.webhookdelivery', verbose_name='redelivery of')),
                ],
                options={
                    'verbose_name': 'webhook delivery',
                    'verbose_name_plural': 'webhook deliveries',
                    'db_table': 'core_webhookdelivery',
                    'ordering': ['-created_at', '-id'],
                },
            ),
            migrations.CreateModel(
                name='WebhookDeliveryAttempt',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('number', models.PositiveSmallIntegerField(verbose_name='attempt')),
                    ('started_at', models.DateTimeField(verbose_name='started at')),
                    ('duration_ms', models.PositiveIntegerField(verbose_name='duration (ms)')),
                    ('status_code', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='HTTP status')),
                    ('response_excerpt', models.TextField(blank=True, verbose_name='response excerpt')),
                    ('error', models.CharField(blank=True, max_length=500, verbose_name='error')),
                    ('delivery', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempt_log', to='partners.webhookdelivery', verbose_name='delivery')),
                ],
                options={
                    'verbose_name': 'delivery attempt',
                    'verbose_name_plural': 'delivery attempts',
                    'db_table': 'core_webhookdeliveryattempt',
                    'ordering': ['delivery_id', 'number'],
                },
            ),
            migrations.CreateModel(
                name='WebhookEndpoint',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('url', models.URLField(max_length=500, verbose_name='URL')),
                    ('events', models.JSONField(default=list, help_text='Event names from the catalogue.', verbose_name='events')),
                    ('description', models.CharField(blank=True, max_length=200, verbose_name='description')),
                    ('secret', creditfactory.core.pii.EncryptedTextField(blank=True, editable=False, verbose_name='secret')),
                    ('is_active', models.BooleanField(default=True, verbose_name='active')),
                    ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                    ('deleted_at', models.DateTimeField(blank=True, help_text='Deleted by the partner; kept for the delivery log.', null=True, verbose_name='deleted at')),
                    ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_endpoints', to='partners.partner', verbose_name='partner')),
                ],
                options={
                    'verbose_name': 'webhook endpoint',
                    'verbose_name_plural': 'webhook endpoints',
                    'db_table': 'core_webhookendpoint',
                    'ordering': ['partner_id', 'created_at', 'id'],
                },
            ),
            migrations.AddField(
                model_name='webhookdelivery',
                name='endpoint',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='partners.webhookendpoint', verbose_name='endpoint'),
            ),
            migrations.CreateModel(
                name='WebhookEvent',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name='event id')),
                    ('event', models.CharField(db_index=True, max_length=64, verbose_name='event')),
                    ('payload', models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='payload')),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='created at')),
                    ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_events', to='partners.partner', verbose_name='partner')),
                ],
                options={
                    'verbose_name': 'webhook event',
                    'verbose_name_plural': 'webhook events',
                    'db_table': 'core_webhookevent',
                    'ordering': ['-created_at', '-id'],
                },
            ),
            migrations.AddField(
                model_name='webhookdelivery',
                name='event',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='partners.webhookevent', verbose_name='event'),
            ),
            migrations.CreateModel(
                name='IdempotencyKey',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('key', models.CharField(max_length=255, verbose_name='key')),
                    ('endpoint', models.CharField(help_text='URL route name of the first request.', max_length=200, verbose_name='endpoint')),
                    ('request_hash', models.CharField(help_text='SHA-256 of method, path and canonical body.', max_length=64, verbose_name='request fingerprint')),
                    ('status', models.CharField(choices=[('in_progress', 'In progress'), ('completed', 'Completed')], default='in_progress', max_length=16, verbose_name='status')),
                    ('response_status', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='response status')),
                    ('response_body', creditfactory.core.pii.EncryptedTextField(blank=True, verbose_name='response body')),
                    ('response_headers', models.JSONField(blank=True, default=dict, verbose_name='response headers')),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='created at')),
                    ('locked_at', models.DateTimeField(help_text='When the request holding the key started.', verbose_name='locked at')),
                    ('completed_at', models.DateTimeField(blank=True, null=True, verbose_name='completed at')),
                    ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='partners.partner', verbose_name='partner')),
                ],
                options={
                    'verbose_name': 'idempotency key',
                    'verbose_name_plural': 'idempotency keys',
                    'db_table': 'core_idempotencykey',
                    'ordering': ['-created_at'],
                    'constraints': [models.UniqueConstraint(fields=('partner', 'key'), name='uniq_idempotency_partner_key')],
                },
            ),
            migrations.CreateModel(
                name='ApiUsage',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('day', models.DateField(verbose_name='day')),
                    ('endpoint', models.CharField(max_length=200, verbose_name='endpoint')),
                    ('method', models.CharField(max_length=8, verbose_name='method')),
                    ('status_code', models.PositiveSmallIntegerField(verbose_name='HTTP status')),
                    ('count', models.BigIntegerField(default=0, verbose_name='calls')),
                    ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='partners.partner', verbose_name='partner')),
                ],
                options={
                    'verbose_name': 'API usage',
                    'verbose_name_plural': 'API usage',
                    'db_table': 'core_apiusage',
                    'ordering': ['-day', 'partner_id', 'endpoint', 'method', 'status_code'],
                    'constraints': [models.UniqueConstraint(fields=('partner', 'day', 'endpoint', 'method', 'status_code'), name='uniq_api_usage_bucket')],
                },
            ),
            migrations.AddIndex(
                model_name='webhookdelivery',
                index=models.Index(fields=['status', 'next_attempt_at'], name='webhook_delivery_due'),
            ),
        ]),
    ]
