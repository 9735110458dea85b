"""zh-hans ships complete: every message in the catalogue is translated and compiled."""

import gettext
from pathlib import Path

import polib
from django.utils import translation

LOCALE = Path(__file__).resolve().parents[2] / "locale"
PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.mo"


def test_every_message_is_translated_and_not_fuzzy():
    catalogue = polib.pofile(str(PO))
    untranslated = [e.msgid for e in catalogue.untranslated_entries()]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
    assert untranslated == [] and fuzzy == []


def test_the_compiled_catalogue_matches_the_source():
    catalogue = polib.pofile(str(PO))
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [e.msgid for e in catalogue.translated_entries()
             if not e.msgid_plural and not e.msgctxt and compiled.gettext(e.msgid) != e.msgstr]
    assert stale == [], "run: make messages (or msgfmt) to recompile django.mo"


def test_domain_terms_in_chinese():
    with translation.override("zh-hans"):
        from products.models import ProductStatus, RepaymentMethod

        assert str(RepaymentMethod.EQUAL_INSTALLMENT.label) == "等额本息"
        assert str(ProductStatus.RETIRED.label) == "已停用"
