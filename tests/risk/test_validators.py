from datetime import date

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, strategies as st

from risk.validators import (
    USCC_CHARSET,
    age_on,
    build_credit_code,
    build_resident_id,
    normalise_bank_account,
    normalise_mobile,
    parse_credit_code,
    parse_resident_id,
    validate_credit_code,
    validate_mobile,
    validate_resident_id,
)

VALID_ID = "11010519491231002X"
INVALID_ID = "340524198001010013"
VALID_USCC = "91350200776049653A"


def test_published_valid_id_number_and_what_it_encodes():
    parsed = parse_resident_id(VALID_ID)
    assert (parsed.number, parsed.region_code, parsed.province) == (VALID_ID, "110105", "11")
    assert (parsed.birth_date, parsed.sequence, parsed.sex) == (date(1949, 12, 31), "002", "F")
    assert parsed.age_on(date(2025, 12, 30)) == 75
    assert parsed.age_on(date(2025, 12, 31)) == 76


def test_lower_case_x_and_spaces_are_normalised():
    assert parse_resident_id(" 11010519491231002x ").number == VALID_ID


def test_published_invalid_id_number_fails_on_its_check_character():
    with pytest.raises(ValidationError) as info:
        validate_resident_id(INVALID_ID)
    assert info.value.code == "invalid_checksum"
    assert info.value.messages == ["The ID number's check character is wrong; please check the number."]


@pytest.mark.parametrize(("value", "code"), [
    ("1101051949123100", "invalid_format"),
    ("11010519491231002Y", "invalid_format"),
    ("", "invalid_format"),
    (build_resident_id(region="990105"), "invalid_region"),
    (build_resident_id(birth_date=date(1990, 1, 1))[:10] + "0230" + "0021", "invalid_birth_date"),
])
def test_malformed_id_numbers_are_rejected_with_a_code(value, code):
    with pytest.raises(ValidationError) as info:
        parse_resident_id(value)
    assert info.value.code == code


def test_birth_date_must_be_real_and_not_in_the_future():
    february_30 = "11010519900230" + "002"
    with pytest.raises(ValidationError) as info:
        parse_resident_id(february_30 + "0")
    assert info.value.code == "invalid_birth_date"
    future = build_resident_id(birth_date=date(2031, 1, 1))
    with pytest.raises(ValidationError) as info:
        parse_resident_id(future, today=date(2030, 12, 31))
    assert info.value.code == "future_birth_date"
    assert parse_resident_id(future, today=date(2031, 1, 1)).birth_date == date(2031, 1, 1)


def test_sex_comes_from_the_parity_of_the_17th_digit():
    assert parse_resident_id(build_resident_id(sequence="123")).sex == "M"
    assert parse_resident_id(build_resident_id(sequence="124")).sex == "F"


def test_age_counts_whole_years_and_leap_day_birthdays():
    assert age_on(date(2000, 2, 29), date(2022, 2, 28)) == 21
    assert age_on(date(2000, 2, 29), date(2022, 3, 1)) == 22
    assert age_on(date(1990, 5, 20), date(2025, 5, 19)) == 34


@given(position=st.integers(min_value=0, max_value=17), replacement=st.sampled_from("0123456789X"))
def test_changing_any_single_character_of_a_valid_id_number_fails(position, replacement):
    if VALID_ID[position] == replacement or (position < 17 and replacement == "X"):
        replacement = str((int(VALID_ID[position]) + 1) % 10) if VALID_ID[position].isdigit() else "1"
    changed = VALID_ID[:position] + replacement + VALID_ID[position + 1:]
    assert changed != VALID_ID
    with pytest.raises(ValidationError):
        validate_resident_id(changed)


@given(first17=st.text(alphabet="0123456789", min_size=8, max_size=8), position=st.integers(0, 16),
       delta=st.integers(1, 9))
def test_a_changed_digit_fails_for_any_valid_id(first17, position, delta):
    valid = build_resident_id(region="440305", birth_date=date(1985, 3, 7), sequence=first17[:3])
    assert parse_resident_id(valid).number == valid
    changed_digit = str((int(valid[position]) + delta) % 10)
    changed = valid[:position] + changed_digit + valid[position + 1:]
    with pytest.raises(ValidationError):
        validate_resident_id(changed)


def test_published_valid_credit_code():
    parsed = parse_credit_code(VALID_USCC)
    assert (parsed.code, parsed.registration_authority, parsed.organisation_type, parsed.region_code) == (
        VALID_USCC, "9", "1", "350200")
    assert parse_credit_code("91350200776049653a").code == VALID_USCC


@pytest.mark.parametrize("value", ["91350200776049653B", "9135020077604965", "91350200776049653I",
                                   "O1350200776049653A"])
def test_invalid_credit_codes_are_rejected(value):
    with pytest.raises(ValidationError):
        validate_credit_code(value)


def test_credit_code_check_character_31_maps_to_0():
    # Sum ≡ 0 (mod 31) → 31 - 0 = 31 → check character "0".
    assert build_credit_code("00000000000000000") == "000000000000000000"
    parse_credit_code("000000000000000000")


@given(position=st.integers(min_value=0, max_value=17), replacement=st.sampled_from(USCC_CHARSET))
def test_changing_any_single_character_of_a_valid_credit_code_fails(position, replacement):
    if VALID_USCC[position] == replacement:
        replacement = USCC_CHARSET[(USCC_CHARSET.index(replacement) + 1) % 31]
    changed = VALID_USCC[:position] + replacement + VALID_USCC[position + 1:]
    with pytest.raises(ValidationError):
        validate_credit_code(changed)


@pytest.mark.parametrize(("raw", "expected"), [
    ("13800138000", "13800138000"),
    ("+8613800138000", "13800138000"),
    ("+86 138 0013 8000", "13800138000"),
    ("0086-138-0013-8000", "13800138000"),
    ("8613800138000", "13800138000"),
    ("19912345678", "19912345678"),
])
def test_mobile_normalisation(raw, expected):
    assert normalise_mobile(raw) == expected


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "+85213800138000", "1380013800a", ""])
def test_invalid_mobiles_are_rejected(raw):
    with pytest.raises(ValidationError) as info:
        validate_mobile(raw)
    assert info.value.messages == ["Enter a mainland mobile number: 11 digits starting with 13-19."]


@given(digits=st.text(alphabet="0123456789", min_size=9, max_size=9), second=st.sampled_from("3456789"))
def test_every_mainland_mobile_pattern_is_accepted_with_or_without_prefix(digits, second):
    number = "1" + second + digits
    assert normalise_mobile(number) == number
    assert normalise_mobile("+86" + number) == number
    assert normalise_mobile("0086 " + number) == number


def test_bank_account_normalisation():
    assert normalise_bank_account("6222 0212 3456 7890 123") == "6222021234567890123"
    with pytest.raises(ValidationError):
        normalise_bank_account("12345")
