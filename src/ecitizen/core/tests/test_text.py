"""Names and free text: spoofing characters refused in names, removed from free text,
real writing (Arabic, Persian, Hindi, emoji) kept."""

import unicodedata

import pytest

from ecitizen.core.text import (
    FreeTextField,
    NameField,
    UnsafeCharacters,
    clean_free_text,
    normalise_name,
)

RLO = "\u202e"
ZWSP = "\u200b"
ZWNJ = "\u200c"
ZWJ = "\u200d"
RLM = "\u200f"

PERSIAN_SURNAME = f"حسین{ZWNJ}زاده"  # Hosseinzadeh, written with a ZWNJ
PERSIAN_VERB = f"می{ZWNJ}خواهم"
HINDI_WITH_ZWJ = f"क्{ZWJ}ष"  # a half form requested with ZWJ
FAMILY_EMOJI = f"\U0001f468{ZWJ}\U0001f469{ZWJ}\U0001f467"
SCOTLAND_FLAG = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"


@pytest.mark.parametrize(
    "name",
    [
        f"Maria {RLO}zepoL",  # right-to-left override
        f"Ad{ZWSP}min",  # zero-width space
        f"Pay{ZWJ}pal",  # a joiner between Latin letters hides nothing real
        f"Ahmed{ZWNJ}",  # a joiner at the end
        "Maria\nLopez",  # a line break
        "Maria\x00Lopez",  # NUL
        "Maria\u2066Lopez\u2069",  # isolates
        f"Maria{RLM}Lopez",  # a mark: fine in prose, invisible in a name
        "Maria\u00adLopez",  # soft hyphen
        "Maria\U000e0041Lopez",  # a tag character (ASCII smuggling)
    ],
)
def test_names_with_invisible_or_control_characters_are_refused(name):
    with pytest.raises(UnsafeCharacters):
        normalise_name(name)
    field = NameField()
    with pytest.raises(Exception, match="invisible or control characters"):
        field.clean(name)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  Maria\u00a0\u00a0López ", "Maria López"),
        (PERSIAN_SURNAME, PERSIAN_SURNAME),
        ("محمد عبد الله", "محمد عبد الله"),
        (HINDI_WITH_ZWJ, HINDI_WITH_ZWJ),
        ("Siobhán O'Connor-Ní Bhriain", "Siobhán O'Connor-Ní Bhriain"),
    ],
)
def test_real_names_are_kept(typed, kept):
    assert normalise_name(typed) == unicodedata.normalize("NFC", kept)


def test_names_are_normalised_to_nfc():
    decomposed = "Jose\u0301"  # e + combining acute
    assert normalise_name(decomposed) == "José"
    assert len(normalise_name(decomposed)) == 4


def test_free_text_loses_spoofing_characters_and_keeps_real_writing():
    typed = (
        f"Please pay invoice_{RLO}gpj.exe{ZWSP} today.\r\n"
        f"{PERSIAN_VERB} {RLM}(123){RLM}\u2066isolated\u2069\x07\n"
        f"{FAMILY_EMOJI} {SCOTLAND_FLAG}\tend\u00ad"
    )
    cleaned = clean_free_text(typed)
    assert cleaned == (
        "Please pay invoice_gpj.exe today.\n"
        f"{PERSIAN_VERB} {RLM}(123){RLM}isolated\n"
        f"{FAMILY_EMOJI} {SCOTLAND_FLAG}\tend"
    )


def test_free_text_drops_joiners_and_tags_outside_real_writing():
    assert clean_free_text(f"Pay{ZWJ}pal{ZWNJ}") == "Paypal"
    assert clean_free_text("ignore\U000e0041\U000e0042 this") == "ignore this"


def test_free_text_field_checks_required_after_cleaning():
    field = FreeTextField()
    with pytest.raises(Exception, match="required"):
        field.clean(f" {RLO}{ZWSP} ")
    assert field.clean(f"Hello {RLO}world") == "Hello world"


@pytest.mark.django_db
def test_the_sign_up_form_refuses_a_name_with_an_override(client):
    from django.urls import reverse

    response = client.post(
        reverse("account_signup"),
        {
            "full_name": f"Riverton {RLO}lanoitaN",
            "email": "spoof@example.test",
            "password1": "tangerine kettle 42",
        },
    )
    assert response.status_code == 200
    assert "invisible or control characters" in response.content.decode()


def test_casework_and_refund_forms_clean_free_text():
    from ecitizen.cases.forms import MessageForm, NoteForm
    from ecitizen.documents.forms import RevokeForm
    from ecitizen.payments.forms import RefundForm

    for form_class, name in (
        (NoteForm, "text"),
        (MessageForm, "text"),
        (RevokeForm, "reason"),
        (RefundForm, "reason"),
    ):
        form = form_class(data={name: f"Approved {RLO}ton", "amount": "1"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data[name] == "Approved ton"


def test_profile_form_refuses_spoofed_names():
    from ecitizen.accounts.forms import ProfileForm

    form = ProfileForm(
        data={"legal_name": f"Maria{ZWSP} Lopez", "contact_preference": "email"},
    )
    assert not form.is_valid()
    assert "legal_name" in form.errors
