"""``manage.py partner_create``: creates a partner, prints its key once, stores only the hash."""

import hashlib
import io
import re

import pytest
from django.core.management import CommandError, call_command

from creditfactory.partners.models import Partner, PartnerApiKey
from tests.factories import make_branch, make_product
from tests.partners.factories import partner_client, signed_headers

pytestmark = pytest.mark.django_db
KEY_LINE = re.compile(r"^API key \(shown once, store it now\): (cfk_[A-Za-z0-9_-]{43})$", re.M)


def run(*args) -> str:
    out = io.StringIO()
    call_command("partner_create", *args, stdout=out)
    return out.getvalue()


def test_creates_the_partner_and_prints_a_working_key_once():
    hq = make_branch("hq")
    make_branch("sh", parent=hq)
    education = make_product("EDUCATION")

    output = run("Acme Channel", "--products", "EDUCATION", "--branch", "sh", "--kind", "facilitation_platform")

    keys = KEY_LINE.findall(output)
    assert len(keys) == 1
    key = keys[0]
    assert output.count(key) == 1
    partner = Partner.objects.get()
    assert (partner.code, partner.name, partner.kind, partner.branch.code) == (
        "ACME_CHANNEL", "Acme Channel", "facilitation_platform", "sh")
    assert list(partner.products.all()) == [education]
    row = PartnerApiKey.objects.get()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert row.prefix == key[:12]
    assert key not in str(list(PartnerApiKey.objects.values_list()))

    response = partner_client(key).get("/api/v1/partner")
    assert response.status_code == 200
    assert response.json()["code"] == "ACME_CHANNEL"
    assert [p["code"] for p in response.json()["products"]] == ["EDUCATION"]


def test_the_only_root_branch_is_the_default_home():
    make_branch("hq")
    run("Beta", "--code", "BETA")
    assert Partner.objects.get().branch.code == "hq"


def test_a_signing_partner_gets_its_secret_printed_once():
    make_branch("hq")
    output = run("Signer", "--require-signature", "--rate", "600/min")
    key = KEY_LINE.search(output).group(1)
    secret = re.search(r"^Request signing secret \(shown once\): (\S+)$", output, re.M).group(1)
    partner = Partner.objects.get()
    assert (partner.signing_secret, partner.throttle_rate) == (secret, "600/min")
    ok = partner_client(key).get("/api/v1/partner", **signed_headers(secret, "GET", "/api/v1/partner"))
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Acme", "--products", "EDUCATION", "NOPE", "ALSO_NOPE"), "Unknown product code(s): NOPE, ALSO_NOPE."),
        (("Acme", "--branch", "nowhere"), "Unknown branch 'nowhere' (known: hq, sz)."),
        (("Acme",), "Pass --branch CODE: the home branch cannot be guessed."),
        (("Acme", "--branch", "hq", "--rate", "lots"), "Invalid partner: throttle_rate: Use the form"),
        (("精选渠道", "--branch", "hq"), "Cannot derive a code from this name: pass --code."),
    ],
)
def test_bad_input_is_a_clear_error_and_creates_nothing(args, message):
    make_branch("hq")
    make_branch("sz")
    make_product("EDUCATION")
    with pytest.raises(CommandError) as error:
        run(*args)
    assert str(error.value).startswith(message)
    assert Partner.objects.count() == 0
    assert PartnerApiKey.objects.count() == 0


def test_an_existing_code_is_refused():
    make_branch("hq")
    run("Acme")
    with pytest.raises(CommandError, match="A partner with code 'ACME' already exists."):
        run("Acme")
    assert PartnerApiKey.objects.count() == 1
