"""The in-loan permissions of the standard roles (roles.py's ``_DRAWDOWN_ENTRY``,
``_DISBURSEMENT_REVIEW``, ``_LINE_CARE``): customer managers enter and cancel drawdowns and ask for
line changes, disbursement reviewers review drawdowns, post-loan managers handle warnings and line
changes. Additive, like every role migration."""

from django.db import migrations


def seed_roles(apps, schema_editor):
    from creditfactory.organisations.roles import sync_standard_roles

    sync_standard_roles(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("servicing", "0007_ledger_loan_roles"),
        ("workflows", "0008_merge_0006_i18n_contract_role_0007_flow_choices_all"),
    ]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
