"""The drug-class table (clinical/data/drug_classes.toml) and the matcher that reads it: which drug
warns against which allergy and why, that the table is consistent, and that no name breaks it."""

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinical import drugs
from clinical.drugs import TABLE, build, conflict_reason, key, resolve, table

# (prescribed drug, allergy as recorded, why it warns)
WARNS = [
    ("Amoxicillin", "Penicillin", "Amoxicillin is a penicillin"),
    ("Amoxicillin 500 mg capsules", "Penicillin V", "Amoxicillin 500 mg capsules is a penicillin"),
    ("AMOXYCILLIN 250mg/5ml suspension", "penicillins", "AMOXYCILLIN 250mg/5ml suspension is a penicillin"),
    ("Flucloxacillin", "benzylpenicillin", "Flucloxacillin is a penicillin"),
    ("co-amoxiclav 625mg", "Penicillin", "co-amoxiclav 625mg contains amoxicillin, a penicillin"),
    ("Augmentin", "Amoxicillin", "Augmentin contains amoxicillin"),
    ("Co Amoxiclav", "clavulanic acid", "Co Amoxiclav contains clavulanic acid"),
    ("Cefalexin", "Penicillin", "Cefalexin is a cephalosporin, which can cross-react with a penicillin"),
    (
        "Cephalexin 500 mg",
        "Amoxicillin",
        "Cephalexin 500 mg is a cephalosporin, which can cross-react with a penicillin",
    ),
    ("Ceftriaxone", "cefuroxime", "Ceftriaxone is a cephalosporin"),
    ("Meropenem", "Penicillin", "Meropenem is a carbapenem, which can cross-react with a penicillin"),
    ("Amoxicillin", "Cephalosporins", "Amoxicillin is a penicillin, which can cross-react with a cephalosporin"),
    ("Clarithromycin", "Erythromycin", "Clarithromycin is a macrolide"),
    ("Doxycycline", "tetracycline", "Doxycycline is a tetracycline"),
    ("Levofloxacin", "Ciprofloxacin", "Levofloxacin is a fluoroquinolone"),
    (
        "Co-trimoxazole 960 mg",
        "Sulfa drugs",
        "Co-trimoxazole 960 mg contains sulfamethoxazole, a sulfonamide antibiotic",
    ),
    ("Septrin", "trimethoprim", "Septrin contains trimethoprim"),
    ("Ibuprofen", "Aspirin", "Ibuprofen is an NSAID"),
    ("Naproxen 250 mg", "NSAIDs", "Naproxen 250 mg is an NSAID"),
    ("Nurofen", "diclofenac", "Nurofen is an NSAID"),
    ("Aspirin 75 mg dispersible", "Ibuprofen", "Aspirin 75 mg dispersible is an NSAID"),
    ("Co-codamol 30/500", "Codeine", "Co-codamol 30/500 contains codeine"),
    ("co-codamol", "Opiates", "co-codamol contains codeine, an opioid"),
    ("Co-codamol", "paracetamol", "Co-codamol contains paracetamol"),
    ("Tramadol 50 mg", "Morphine", "Tramadol 50 mg is an opioid"),
    ("Simvastatin", "Atorvastatin", "Simvastatin is a statin"),
    ("Ramipril", "Lisinopril", "Ramipril is an ACE inhibitor"),
    (
        "Losartan",
        "ACE inhibitors",
        "Losartan is an angiotensin II receptor blocker, which can cross-react with an ACE inhibitor",
    ),
    ("Bisoprolol", "atenolol", "Bisoprolol is a beta-blocker"),
    ("Amlodipine", "Nifedipine", "Amlodipine is a calcium-channel blocker"),
    ("Indapamide", "bendroflumethiazide", "Indapamide is a thiazide or thiazide-like diuretic"),
    ("Frusemide", "bumetanide", "Frusemide is a loop diuretic"),
    ("Diazepam", "Lorazepam", "Diazepam is a benzodiazepine"),
    ("Sertraline", "Citalopram", "Sertraline is an SSRI"),
    ("Lamotrigine", "Carbamazepine", "Lamotrigine is an aromatic anticonvulsant"),
    ("Gliclazide", "glimepiride", "Gliclazide is a sulfonylurea"),
    (
        "Omeprazole 20 mg gastro-resistant capsules",
        "Lansoprazole",
        "Omeprazole 20 mg gastro-resistant capsules is a proton pump inhibitor",
    ),
    ("Lidocaine 1%", "Bupivacaine", "Lidocaine 1% is an amide local anaesthetic"),
    ("Iohexol", "Iodinated contrast", "Iohexol is an iodinated contrast medium"),
    ("Penicillin", "Penicillin", "the same drug"),
    ("IBUPROFENE 400 mg", "ibuprofène", "the names match"),
]

# (prescribed drug, allergy as recorded): no warning
SAFE = [
    ("Azithromycin", "Penicillin"),
    ("Doxycycline", "Amoxicillin"),
    ("Paracetamol", "NSAIDs"),
    ("Paracetamol", "Ibuprofen"),
    ("Co-codamol", "Ibuprofen"),
    ("Trimethoprim", "Amoxicillin"),
    ("Furosemide", "Sulfa"),
    ("Gliclazide", "Sulfonamides"),
    ("Lidocaine", "Benzocaine"),
    ("Bisoprolol", "Ramipril"),
    ("Sertraline", "Diazepam"),
    ("Metformin", "Penicillin"),
    ("Amoxicillin", "Latex"),
    ("Ciprofloxacin", "Clarithromycin"),
    ("Losartan", "Atorvastatin"),
    ("", "Penicillin"),
    ("Amoxicillin", ""),
]


@pytest.mark.parametrize(("drug", "allergy", "why"), WARNS)
def test_a_drug_of_the_same_substance_or_class_warns_and_says_why(drug, allergy, why):
    assert conflict_reason(drug, allergy) == why


@pytest.mark.parametrize(("drug", "allergy"), SAFE)
def test_a_drug_of_another_class_does_not_warn(drug, allergy):
    assert conflict_reason(drug, allergy) is None


def test_a_combination_is_read_by_each_component():
    assert resolve("Co-amoxiclav 500/125 mg tablets").substances == {"amoxicillin", "clavulanic acid"}
    assert resolve("co codamol 8/500").substances == {"codeine", "paracetamol"}
    assert resolve("Tazocin 4.5 g").substances == {"piperacillin", "tazobactam"}


def test_strengths_forms_and_unknown_words_are_skipped():
    assert resolve("Amoxicillin trihydrate 500 mg capsules").substances == {"amoxicillin"}
    assert resolve("Zorblax 10 mg").substances == frozenset()


class TestTheTable:
    """The file a clinician edits: it loads, and every name in it means one thing."""

    def test_it_loads_with_its_source_named(self):
        text = TABLE.read_text()
        assert "Source:" in text and "BNF" in text and "ATC" in text
        assert len(table().classes) >= 20

    def test_the_classes_a_gp_meets_are_there(self):
        wanted = {
            "penicillins",
            "cephalosporins",
            "carbapenems",
            "macrolides",
            "tetracyclines",
            "fluoroquinolones",
            "sulfonamides",
            "nsaids",
            "opioids",
            "statins",
            "ace_inhibitors",
            "arbs",
            "beta_blockers",
            "calcium_channel_blockers",
            "thiazides",
            "loop_diuretics",
            "benzodiazepines",
            "ssris",
            "aromatic_anticonvulsants",
            "sulfonylureas",
            "ppis",
            "amide_local_anaesthetics",
            "ester_local_anaesthetics",
            "iodinated_contrast",
        }
        assert wanted <= set(table().classes)

    def test_every_class_has_a_label_names_and_members_in_lower_case(self):
        for cls in table().classes.values():
            assert cls.label and cls.names and cls.members, cls.id
            for name in (*cls.names, *cls.members):
                assert name == name.lower().strip(), (cls.id, name)
            assert len(set(cls.members)) == len(cls.members), f"{cls.id} lists a member twice"

    def test_every_cross_reactive_class_exists_and_the_link_goes_both_ways(self):
        t = table()
        for cls in t.classes.values():
            for other in cls.cross_reactive:
                assert other in t.classes
                assert (other, cls.id) in t.cross

    def test_every_combination_component_and_synonym_leads_somewhere(self):
        t = table()
        for name, parts in t.combinations.items():
            assert len(parts) >= 2, name
            assert resolve(name).substances == set(parts), name
        for name, target in t.synonyms.items():
            assert resolve(name) == resolve(target), name

    def test_no_name_means_a_class_and_a_substance(self):
        t = table()
        class_names = {key(n) for c in t.classes.values() for n in c.names}
        substances = {key(m) for c in t.classes.values() for m in c.members}
        substances |= {key(p) for parts in t.combinations.values() for p in parts}
        assert not class_names & substances
        assert not set(map(key, t.combinations)) & substances

    def test_a_name_meaning_two_things_is_refused(self):
        with TABLE.open("rb") as f:
            data = tomllib.load(f)
        data["synonyms"]["ibuprofen"] = "simvastatin"
        with pytest.raises(ValueError, match="'ibuprofen' means both"):
            build(data)

    def test_a_class_name_that_is_also_a_drug_is_refused(self):
        with TABLE.open("rb") as f:
            data = tomllib.load(f)
        data["classes"]["statins"]["names"].append("Ibu-profen")
        with pytest.raises(ValueError, match="means both"):
            build(data)

    def test_an_unknown_cross_reactive_class_is_refused(self):
        data = {"classes": {"a": {"label": "an a", "members": ["x"], "cross_reactive": ["nowhere"]}}}
        with pytest.raises(ValueError, match="nowhere"):
            build(data)

    def test_a_synonym_to_nothing_is_refused(self):
        with pytest.raises(ValueError, match="zorblax"):
            build({"synonyms": {"brand": "zorblax"}})


KNOWN = sorted(
    {m for c in table().classes.values() for m in c.members} | set(table().combinations) | set(table().synonyms)
)


@given(drug=st.text(), allergy=st.text())
def test_no_name_makes_the_matcher_fail(drug, allergy):
    reason = conflict_reason(drug, allergy)
    assert reason is None or isinstance(reason, str)


def respell(name, data):
    """The same name as a hurried doctor types it: any case, extra spaces, hyphens for spaces."""
    cased = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in name)
    gap = data.draw(st.sampled_from([" ", "  ", "-", " - "]))
    return data.draw(st.sampled_from(["", " ", "\t"])) + gap.join(cased.replace("-", " ").split()) + " "


@given(drug=st.sampled_from(KNOWN), allergy=st.sampled_from(KNOWN), data=st.data())
def test_case_and_spacing_do_not_change_the_answer(drug, allergy, data):
    assert (conflict_reason(respell(drug, data), respell(allergy, data)) is None) == (
        conflict_reason(drug, allergy) is None
    )
    assert resolve(respell(drug, data)) == resolve(drug)


def test_the_table_is_read_once():
    table.cache_clear()
    drugs.table()
    drugs.table()
    assert table.cache_info().misses == 1
