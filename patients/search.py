"""Finding patients through an index on both databases, at 100,000 patients as at sixty.

What a query means (the same on SQLite and PostgreSQL, in the same order):
- a term of 3 letters or more matches anywhere in `search_text` (folded names, the name without
  spaces, MRN, phone digits): "thorn" finds Thornbury, "obrien" finds O'Brien;
- apostrophes join, in names and in queries: O'Brien is also the word "obrien", so "ob", "O'B" and
  "O’Brien" find her (typed with a space, "o b" is two single letters);
- a term of 1 or 2 letters matches the start of a word: "Li" finds Li Wei and Lisa Jones but not
  Alice, "zoe n" finds Zoë Núñez. A receptionist typing two letters means a short name or an initial;
  "any name containing li" is thousands of useless rows and cannot use a trigram index anyway.
  A query of single letters only ("a") finds nobody: the list asks for a second letter (TOO_SHORT);
- 5+ digits: a phone number fragment or the start of an MRN. A whole MRN (7 digits, valid check digit)
  is an equality lookup on the unique index, and that patient is listed first; phone numbers that
  contain the same digits follow, so a phone fragment that happens to look like an MRN still finds them.

PostgreSQL answers through the pg_trgm GIN index on `search_text` (patients 0003) and the MRN's
unique index. SQLite answers through `patients_patient_search`, an FTS5 table with the trigram
tokenizer over `search_text` and over its word starts (each word marked with "^^", so a 1–2 letter
word start is a 3+ character trigram query), kept in step with the patients by triggers.
"""

from django.db import models
from django.db.models.expressions import RawSQL

from .text import fold_joined

FTS_TABLE = "patients_patient_search"
# Marks the start of each word in the `starts` column: "^^li" is a trigram query for a word starting "li".
WORD_START = "^^"
SHORTEST_ANYWHERE = 3
TOO_SHORT = "Type at least two letters of a name, or an MRN, phone number or date of birth."


def too_short(query):
    """Only single letters ("a", "j s"): a word start shared by a tenth of the clinic; nobody is found.
    "O'B" is two letters of one word (O'Brien), not two single letters."""
    terms = fold_joined(query).split()
    return bool(terms) and all(len(term) == 1 for term in terms)


def search_text(name_key, joined, mrn, phone_digits):
    """What a patient is found by: the folded name's words; each word that held an apostrophe, joined
    ("obrien" for O'Brien, so "ob" is the start of a word); the whole name without spaces ("obrien nunez"
    or "brien-nunez" are found inside it); the MRN; the phone's digits."""
    words = name_key.split()
    joined_words = [word for word in joined.split() if word not in words]
    squashed = "".join(words)
    return " ".join(filter(None, [name_key, *joined_words, squashed, mrn or "", phone_digits]))


def _starts(column):
    """SQL for the `starts` column from a `search_text` value (words are single-space separated)."""
    return f"'{WORD_START}' || replace({column}, ' ', ' {WORD_START}')"


SQLITE_TRIGGERS = {
    f"{FTS_TABLE}_insert": f"""
        CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON patients_patient BEGIN
            INSERT INTO {FTS_TABLE}(rowid, search_text, starts)
            VALUES (new.id, new.search_text, {_starts("new.search_text")});
        END""",  # noqa: S608 (constant names)
    # Only a change of what is searched touches the index (archiving, say, does not).
    f"{FTS_TABLE}_update": f"""
        CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update AFTER UPDATE OF id, search_text ON patients_patient BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text, starts)
            VALUES ('delete', old.id, old.search_text, {_starts("old.search_text")});
            INSERT INTO {FTS_TABLE}(rowid, search_text, starts)
            VALUES (new.id, new.search_text, {_starts("new.search_text")});
        END""",  # noqa: S608 (constant names)
    f"{FTS_TABLE}_delete": f"""
        CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON patients_patient BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text, starts)
            VALUES ('delete', old.id, old.search_text, {_starts("old.search_text")});
        END""",  # noqa: S608 (constant names)
}

# Contentless (content=''): the index alone, the text stays in patients_patient. detail=full is what
# lets a term longer than 3 characters match as a run of trigrams.
CREATE_FTS_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(search_text, starts, content='', tokenize='trigram')"
)


def install_sqlite_search(connection):
    """The FTS5 table and its triggers, and the table refilled whenever a trigger was missing.

    SQLite drops a table's triggers when a migration rebuilds it, and rows written meanwhile (a data
    migration) never reached the index: so a missing trigger means the index cannot be trusted, and it
    is rebuilt from the patients (about a second per 100,000). Idempotent; a no-op on PostgreSQL.
    """
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        if "patients_patient" not in connection.introspection.table_names(cursor):
            return
        names = [FTS_TABLE, *SQLITE_TRIGGERS]
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s, %s, %s)", names)
        if cursor.fetchone()[0] == len(names):
            return
        cursor.execute(CREATE_FTS_TABLE)
        for sql in SQLITE_TRIGGERS.values():
            cursor.execute(sql)
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')")  # noqa: S608 (constant)
        cursor.execute(
            f"INSERT INTO {FTS_TABLE}(rowid, search_text, starts) "  # noqa: S608 (constant names)
            f"SELECT id, search_text, {_starts('search_text')} FROM patients_patient"
        )


def drop_sqlite_search(connection):
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


class _Sorted(models.Func):
    """The column's own value (`col || ''`: same text, same collation, so the same order), which no index
    provides: the database then sorts the matches instead of walking the (last_name, first_name) index
    in order and filtering. PostgreSQL chose that walk for "wu" or "nguyen", names clustered far down
    the alphabet, and read 60,000 rows of the index to fill one page (140-230 ms at 100,000 patients)."""

    template = "(%(expressions)s || '')"
    output_field = models.CharField()


# The order of search results: name, then registration (the same on both databases).
NAME_ORDER = (_Sorted("last_name").asc(), _Sorted("first_name").asc(), "pk")


def _phrase(text):
    return '"' + text.replace('"', '""') + '"'


def words_match(vendor, terms):
    """Every folded term found: 3+ characters anywhere in `search_text`, shorter ones at a word's start."""
    anywhere = [term for term in terms if len(term) >= SHORTEST_ANYWHERE]
    starts = [term for term in terms if len(term) < SHORTEST_ANYWHERE]
    if vendor == "sqlite":
        match = " AND ".join(
            [f"search_text : {_phrase(term)}" for term in anywhere]
            + [f"starts : {_phrase(WORD_START + term)}" for term in starts]
        )
        # The MATCH expression is a parameter; its terms are folded to [a-z0-9] and quoted as phrases.
        found = RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match])  # noqa: S608, S611
        return models.Q(pk__in=found)
    # PostgreSQL: the trigram GIN index answers LIKE '%term%', 'te%' and '% te%' (pg_trgm pads each
    # word with spaces, so the last two are the trigrams "  t" and " te").
    q = models.Q()
    for term in anywhere:
        q &= models.Q(search_text__contains=term)
    for term in starts:
        q &= models.Q(search_text__startswith=term) | models.Q(search_text__contains=f" {term}")
    return q


def mrn_from(number, luhn_digit):
    """`number` if it is a whole MRN (six or more digits and their check digit), else None."""
    if len(number) >= 7 and luhn_digit(number[:-1]) == number[-1]:
        return number
    return None


def number_match(vendor, number, *, whole_mrn):
    """A phone number containing `number`, or an MRN starting with it (equal to it, for a whole MRN)."""
    if whole_mrn:
        mrn = models.Q(mrn=number)
    else:
        # A range of the MRN's unique index: SQLite's LIKE is case-insensitive and cannot use it
        # (PostgreSQL has Django's pattern_ops `_like` index for it, and takes the range there too).
        # MRNs are digits, so '12345' <= mrn < '12346' is the same set; startswith keeps it exact.
        upper = number[:-1] + chr(ord(number[-1]) + 1)
        mrn = models.Q(mrn__gte=number, mrn__lt=upper, mrn__startswith=number)
    # `search_text` holds the phone digits, so its index finds the candidates; the phone column decides.
    return mrn | (words_match(vendor, [number]) & models.Q(phone_digits__contains=number))
