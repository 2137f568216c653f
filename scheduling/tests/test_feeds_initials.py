"""How the calendar feed names a patient: initials and MRN, for names in any script (Hypothesis)."""

import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st
from icalendar import Calendar, Event

from scheduling.feeds import initials, patient_label

# Names as people write them: letters of any script with their marks, spaces, hyphens and apostrophes.
NAME_CHARACTERS = st.characters(categories=["L", "M", "Zs"], include_characters="-'’.")
names = st.text(NAME_CHARACTERS, min_size=0, max_size=30)


def first_letter(name):
    name = unicodedata.normalize("NFC", name)
    return next((char for char in name if unicodedata.category(char).startswith("L")), None)


def test_names_from_many_scripts():
    assert initials("Hoa", "Đặng Thị") == "H. Đ."
    assert initials("Γιώργος", "Χριστοδούλου") == "Γ. Χ."
    assert initials("小明", "王") == "小. 王."
    assert initials("Anne-Marie", "O'Brien") == "A. O."
    assert initials("’Abd al-Rahman", "-Smith") == "A. S."  # leading punctuation is not an initial
    assert initials("ñusta", "łukasiewicz") == "Ñ. Ł."
    assert initials("e\u0301mile", "zola") == "É. Z."  # decomposed, put together first
    assert initials("q\u0307ara", "ǆuro") == "Q\u0307. ǅ."  # no precomposed letter: the mark stays with it
    assert initials("ßen", "Straße") == "ß. S."  # "ß" has no one-letter capital
    assert initials("देवी", "शर्मा") == "दे. श."  # a vowel sign belongs to its letter
    assert initials("", "   ") == ""


class Named:
    def __init__(self, first_name, last_name, mrn):
        self.first_name, self.last_name, self.mrn = first_name, last_name, mrn


@given(first=names, last=names)
@example(first="Đặng Thị", last="Hoa")
@example(first="Χριστοδούλου", last="王")
@example(first="Jean-Luc", last="D'Arcy")
def test_each_initial_is_the_capital_of_the_name_s_first_letter(first, last):
    label = initials(first, last)
    parts = [part for part in label.split(" ") if part]
    expected = [letter for letter in map(first_letter, (first, last)) if letter]
    assert len(parts) == len(expected)
    for part, letter in zip(parts, expected, strict=True):
        assert part.endswith(".")
        shown = part[:-1]
        assert unicodedata.category(shown[0]).startswith("L")
        assert all(unicodedata.category(char).startswith("M") for char in shown[1:])  # only its own marks
        assert shown[0] in (letter, letter.title())


@given(first=names, last=names, mrn=st.one_of(st.none(), st.from_regex(r"\A\d{7}\Z")))
def test_the_label_survives_the_calendar_and_never_holds_a_whole_longer_name(first, last, mrn):
    label = patient_label(Named(first, last, mrn))
    event = Event()
    event.add("summary", label)
    assert str(Calendar.from_ical(event.to_ical())["SUMMARY"]) == label  # folded, escaped and read back
    for name in (first, last):
        letters = "".join(char for char in unicodedata.normalize("NFC", name) if unicodedata.category(char)[0] in "LM")
        if len(letters) > 2:  # "王" is its own initial; a longer name never appears whole
            assert unicodedata.normalize("NFC", name).strip() not in label
    if mrn:
        assert label.endswith(f"MRN {mrn}")
