"""Tests for the keyword matcher and the default phrase lists it ships with.

The default-list tables are the part that matters most: realistic posts in each
language must reach the right class, and everyday posts that merely contain a
risky word ("fire sale", "Sue from support", "ranny ptaszek") must reach none.
"""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import pydantic
import pytest
import yaml

from streams.core.keywords import (
    KeywordHit,
    KeywordMatcher,
    KeywordRule,
    normalise,
    phrase_pattern,
)

DEFAULTS = Path(__file__).resolve().parents[1] / "streams" / "core" / "default_keywords.yaml"
LANGS = ("en", "ro", "it", "he", "cs", "el", "fr", "de", "es", "nl", "pl", "pt")
CLASSES = {"safety": ("P1", 900), "legal": ("P1", 900), "churn": ("P2", 1800), "outage": (None, 1800)}


def rule(name: str, *phrases: str, langs: list[str] | None = None) -> KeywordRule:
    return KeywordRule(name=name, phrases=list(phrases), langs=langs, priority="P1", window_s=900)


def names(matcher: KeywordMatcher, text: str, lang: str | None = "en") -> list[str]:
    return [hit.name for hit in matcher.match(text, lang)]


@pytest.fixture(scope="module")
def default_rules() -> list[KeywordRule]:
    data = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    return [KeywordRule.model_validate(item) for item in data]


@pytest.fixture(scope="module")
def defaults(default_rules: list[KeywordRule]) -> KeywordMatcher:
    return KeywordMatcher(default_rules)


# ---------------------------------------------------------------- normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FOOD POISONING", "food poisoning"),
        ("Food\t \n  Poisoning  ", "food poisoning"),
        ("food\u00a0poisoning", "food poisoning"),  # non-breaking space
        ("ＦＯＯＤ", "food"),  # full-width letters
        ("Straße", "strasse"),
        # Romanian, with both the comma-below and the legacy cedilla letters
        ("toxiinfecție alimentară", "toxiinfectie alimentara"),
        ("otrăvire, șarpe, ţeapă", "otravire, sarpe, teapa"),
        ("Otrăvit ÎN ȚARĂ", "otravit in tara"),
        # Czech, French, Polish
        ("otrávil jsem se, žaloba, přihlásit", "otravil jsem se, zaloba, prihlasit"),
        ("intoxiqué, réaction, brûlure, garçon", "intoxique, reaction, brulure, garcon"),
        ("Złożę pozew, zażółć gęślą jaźń", "zloze pozew, zazolc gesla jazn"),
        # Greek: tonos, dialytika, capitals and final sigma
        ("Τροφική Δηλητηρίαση", "τροφικη δηλητηριαση"),
        ("ΤΡΟΦΙΚΉΣ", "τροφικησ"),
        ("τροφικής", "τροφικησ"),
        ("προϊόν", "προιον"),
        # Hebrew niqqud and right-to-left marks disappear, the letters stay
        ("הַרְעָלַת מָזוֹן", "הרעלת מזון"),
        ("\u200fהאתר לא עובד\u200f", "האתר לא עובד"),
        # quotes and apostrophes
        ("I can\u2019t log in", "i can't log in"),
        ("I can\u00b4t log in", "i can't log in"),
        ("\u201cquoted\u201d \u201elow\u201d", '"quoted" "low"'),
        ("עו\u05f4ד", 'עו"ד'),
        # invisible characters
        ("poi\u00adsoning", "poisoning"),  # soft hyphen
        ("food\u200bpoisoning", "food poisoning"),  # zero-width space separates words
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_normalise_is_idempotent_on_a_mixed_post() -> None:
    post = "Ήταν ΤΡΟΦΙΚΉ δηλητηρίαση — I can\u2019t  believe it; Otrăvire; הַרְעָלָה"
    once = normalise(post)
    assert normalise(once) == once
    assert not any(unicodedata.category(ch) == "Mn" for ch in once)


# ---------------------------------------------------------------- phrase syntax


def test_word_boundaries_keep_short_words_out_of_longer_ones() -> None:
    matcher = KeywordMatcher([rule("safety", "fire"), rule("legal", "sue")])
    assert names(matcher, "The FIRE alarm went off") == ["safety"]
    assert names(matcher, "fire!") == ["safety"]
    assert names(matcher, "Firefox crashed") == []
    assert names(matcher, "sitting by the campfire") == []
    assert names(matcher, "spitfire") == []
    assert names(matcher, "I'll issue a refund request") == []
    assert names(matcher, "pursue it") == []
    assert names(matcher, "I will sue.") == ["legal"]


def test_word_boundaries_hold_in_other_scripts() -> None:
    matcher = KeywordMatcher([rule("legal", "μήνυση"), rule("outage", "נפל")])
    assert names(matcher, "θα κάνω ΜΗΝΥΣΗ!", "el") == ["legal"]
    assert names(matcher, "μηνύσεις", "el") == []
    assert names(matcher, "האתר נפל", "he") == ["outage"]
    assert names(matcher, "נפלא", "he") == []  # "wonderful" begins with the same letters


def test_whitespace_and_hyphens_between_words_are_flexible() -> None:
    matcher = KeywordMatcher([rule("safety", "food poisoning")])
    for text in ("food poisoning", "FOOD\n\n  POISONING", "food-poisoning", "food\u2011poisoning"):
        assert names(matcher, text) == ["safety"], text
    assert names(matcher, "foodpoisoning") == []
    assert names(matcher, "food, poisoning") == []


def test_apostrophes_are_optional_and_hyphens_inside_words_flexible() -> None:
    matcher = KeywordMatcher([rule("outage", "can't log in"), rule("safety", "toxi-infecți*")])
    for text in ("I can't log in", "i cant log in", "I can\u2019t log in", "can't log-in"):
        assert names(matcher, text) == ["outage"], text
    assert names(matcher, "I can log in") == []
    for text in ("toxiinfecție", "toxi-infecția", "toxi infectii", "TOXIINFECTIE"):
        assert names(matcher, text, "ro") == ["safety"], text
    assert names(matcher, "infecție", "ro") == []


def test_star_is_a_prefix_match() -> None:
    matcher = KeywordMatcher([rule("safety", "poison*"), rule("churn", "cancel* my account")])
    for text in ("poison", "poisoned", "POISONING", "poisonous"):
        assert names(matcher, text) == ["safety"], text
    assert names(matcher, "antipoison") == []  # a prefix, not a substring
    assert names(matcher, "poiso") == []
    assert names(matcher, "cancelling my account") == ["churn"]
    assert names(matcher, "cancelled my accountant") == []  # only the starred word extends


def test_star_may_end_any_word_for_inflected_languages() -> None:
    matcher = KeywordMatcher([rule("safety", "zatru* pokarm*", langs=["pl"])])
    for text in ("zatrucie pokarmowe", "ZATRUCIEM POKARMOWYM", "zatrucia pokarmowego"):
        assert names(matcher, text, "pl") == ["safety"], text
    assert names(matcher, "pokarmowe zatrucie", "pl") == []


@pytest.mark.parametrize(
    "phrase",
    ["*", "a*", "ab*", "fo*od", "**", "food **", "\u0301"],
)
def test_malformed_phrases_are_rejected_when_the_rule_loads(phrase: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        rule("safety", phrase)
    with pytest.raises(ValueError):
        phrase_pattern(phrase)


def test_phrase_pattern_escapes_regex_syntax() -> None:
    matcher = KeywordMatcher([rule("safety", "e. coli"), rule("outage", "502 (bad) gateway")])
    assert names(matcher, "E. Coli outbreak") == ["safety"]
    assert names(matcher, "eX coli") == []
    assert names(matcher, "502 (bad) gateway") == ["outage"]
    assert names(matcher, "502 bad gateway") == []


# ---------------------------------------------------------------- the rule model


def test_rule_fields_and_defaults() -> None:
    minimal = KeywordRule(name="outage", phrases=["site is down"])
    assert (minimal.langs, minimal.priority, minimal.window_s, minimal.reason) == (None, None, None, None)
    with pytest.raises(pydantic.ValidationError):
        minimal.name = "safety"  # type: ignore[misc]


@pytest.mark.parametrize(
    "fields",
    [
        {"phrases": []},
        {"phrases": ["ok", " "]},
        {"phrases": [""]},
        {"name": " "},
        {"name": ""},
        {"langs": []},
        {"langs": ["EN"]},
        {"langs": ["eng"]},
        {"langs": ["e"]},
        {"priority": "P0"},
        {"priority": "p1"},
        {"window_s": 0},
        {"window_s": -900},
        {"window_s": True},  # YAML "yes"
        {"window_s": "900"},
        {"colour": "red"},
    ],
)
def test_rule_rejects_bad_fields(fields: dict[str, object]) -> None:
    base: dict[str, object] = {"name": "safety", "phrases": ["food poisoning"]}
    with pytest.raises(pydantic.ValidationError):
        KeywordRule.model_validate(base | fields)


# ---------------------------------------------------------------- matching


def test_hit_carries_the_rule_and_the_configured_phrase() -> None:
    safety = KeywordRule(
        name="safety", phrases=["caught fire", "poison*"], priority="P1", window_s=900, reason="harm"
    )
    hits = KeywordMatcher([safety]).match("The charger CAUGHT  FIRE", "en")
    assert hits == [KeywordHit(name="safety", phrase="caught fire", priority="P1", window_s=900, reason="harm")]


def test_one_hit_per_rule_in_rule_order() -> None:
    matcher = KeywordMatcher(
        [rule("legal", "lawyer", "sue them"), rule("safety", "caught fire", "injured"), rule("churn", "cancel*")]
    )
    hits = matcher.match("I was injured when it caught fire; my lawyer will sue them", "en")
    assert [(h.name, h.phrase) for h in hits] == [("legal", "lawyer"), ("safety", "injured")]


def test_the_phrase_reported_is_the_one_found_earliest() -> None:
    matcher = KeywordMatcher([rule("safety", "injured", "caught fire", "burn*")])
    assert [h.phrase for h in matcher.match("caught fire and I was injured", "en")] == ["caught fire"]
    assert [h.phrase for h in matcher.match("injured when it caught fire", "en")] == ["injured"]
    # same start: the phrase listed first wins
    same_place = KeywordMatcher([rule("safety", "burn*", "burns on my arm")])
    assert [h.phrase for h in same_place.match("burns on my arm", "en")] == ["burn*"]


def test_rules_sharing_a_name_each_yield_a_hit() -> None:
    matcher = KeywordMatcher([rule("safety", "food poisoning"), rule("safety", "otrăvire", langs=["ro"])])
    assert names(matcher, "food poisoning, otrăvire", "ro") == ["safety", "safety"]


def test_language_filter() -> None:
    matcher = KeywordMatcher(
        [
            rule("safety", "food poisoning"),
            rule("safety", "otrăvire", langs=["ro"]),
            rule("safety", "zatrucie", langs=["pl", "cs"]),
        ]
    )
    assert names(matcher, "otrăvire", "ro") == ["safety"]
    assert names(matcher, "otrăvire", "it") == []  # a Romanian word in an Italian post is not Romanian
    assert names(matcher, "zatrucie", "pl") == ["safety"]
    assert names(matcher, "zatrucie", "cs") == ["safety"]
    assert names(matcher, "zatrucie", "ro") == []
    # rules without langs apply to every language
    assert names(matcher, "food poisoning", "ro") == ["safety"]
    assert names(matcher, "food poisoning", "he") == ["safety"]
    # region subtags and case are ignored
    assert names(matcher, "otrăvire", "RO") == ["safety"]
    assert names(matcher, "zatrucie", "pl-PL") == ["safety"]
    assert names(matcher, "zatrucie", "pl_pl") == ["safety"]


@pytest.mark.parametrize("unknown", [None, "", "  "])
def test_unknown_language_applies_every_rule(unknown: str | None) -> None:
    matcher = KeywordMatcher([rule("safety", "otrăvire", langs=["ro"]), rule("legal", "pozew", langs=["pl"])])
    assert names(matcher, "otravire", unknown) == ["safety"]
    assert names(matcher, "pozew", unknown) == ["legal"]
    assert names(matcher, "nothing here", unknown) == []


def test_no_rules_no_hits() -> None:
    matcher = KeywordMatcher([])
    assert matcher.match("food poisoning", None) == []
    assert matcher.rules == ()


def test_rules_property_keeps_order() -> None:
    rules = [rule("legal", "lawsuit"), rule("safety", "caught fire")]
    assert KeywordMatcher(rules).rules == tuple(rules)


# ---------------------------------------------------------------- default_keywords.yaml


def test_defaults_cover_every_class_and_language(default_rules: list[KeywordRule]) -> None:
    seen = set()
    for item in default_rules:
        assert item.name in CLASSES, item.name
        assert (item.priority, item.window_s) == CLASSES[item.name], item.name
        assert item.reason
        if item.langs is None:
            seen.add((item.name, "en"))
        else:
            assert len(item.langs) == 1, "one language per rule keeps the lists reviewable"
            seen.add((item.name, item.langs[0]))
    assert seen == {(name, lang) for name in CLASSES for lang in LANGS}


def test_defaults_have_no_duplicate_phrases_within_a_rule(default_rules: list[KeywordRule]) -> None:
    for item in default_rules:
        normalised = [normalise(p) for p in item.phrases]
        assert len(normalised) == len(set(normalised)), (item.name, item.langs)


def test_every_default_phrase_matches_its_own_words(
    default_rules: list[KeywordRule], defaults: KeywordMatcher
) -> None:
    """A phrase that cannot match its own text is dead configuration."""
    for item in default_rules:
        lang = item.langs[0] if item.langs else "en"
        for phrase in item.phrases:
            hits = defaults.match(f"well, {phrase.replace('*', '')}!", lang)
            assert any(h.name == item.name for h in hits), (phrase, lang)


def test_defaults_are_never_single_overbroad_words(default_rules: list[KeywordRule]) -> None:
    flooding = {"fire", "sue", "lawyer", "down", "outage", "not working", "on fire", "injury", "hurt"}
    for item in default_rules:
        for phrase in item.phrases:
            assert normalise(phrase) not in flooding, phrase


# Realistic posts and the classes they must raise, per language. Each expected
# set is exact: a post that also raised another class would fail too.
POSITIVES = [
    # English, and English inside posts of other languages
    ("en", "Got food poisoning after eating your chicken wrap, was up all night", {"safety"}),
    ("en", "my phone charger CAUGHT FIRE on the nightstand!!", {"safety"}),
    ("en", "My son was injured by the broken swing we bought from you", {"safety"}),
    ("en", "Found a piece of glass in my salad. Unbelievable.", {"safety"}),
    ("en", "Had an allergic reaction even though the label said nut free", {"safety"}),
    ("en", "I will be contacting my lawyer about this", {"legal"}),
    ("en", "Fix this or I'm going to sue", {"legal"}),
    ("en", "see you in court", {"legal"}),
    ("en", "I want to cancel my subscription today", {"churn"}),
    ("en", "Switching to Vodafone after this mess", {"churn"}),
    ("en", "You just lost a customer.", {"churn"}),
    ("en", "Your site is down again?", {"outage"}),
    ("en", "I can\u2019t log in since 9am", {"outage"}),
    ("en", "getting 502 Bad Gateway at checkout", {"outage"}),
    ("en", "game servers down AGAIN during the weekend event", {"outage"}),
    ("en", "Two of us ended up in A&E after your chicken kit", {"safety"}),
    ("ro", "Am avut food poisoning după burgerul vostru", {"safety"}),
    ("de", "Class action incoming, ihr werdet sehen", {"legal"}),
    # Romanian
    ("ro", "Am făcut toxiinfecție alimentară după ce am mâncat la voi", {"safety"}),
    ("ro", "Am facut toxiinfectie alimentara dupa ce am mancat la voi", {"safety"}),
    ("ro", "Bateria telefonului a luat foc în timp ce se încărca", {"safety"}),
    ("ro", "Fiica mea a ajuns la urgențe după desertul vostru", {"safety"}),
    ("ro", "Vă dau în judecată dacă nu-mi returnați banii", {"legal"}),
    ("ro", "Fac reclamație la ANPC mâine dimineață", {"legal"}),
    ("ro", "Vreau să reziliez contractul, m-ați dezamăgit", {"churn"}),
    ("ro", "Îmi închid contul azi", {"churn"}),
    ("ro", "Nu merge aplicația de azi dimineață", {"outage"}),
    ("ro", "Site-ul nu funcționează deloc", {"outage"}),
    # Italian
    ("it", "Intossicazione alimentare dopo la cena da voi, tutta la famiglia a letto", {"safety"}),
    ("it", "Il caricabatterie ha preso fuoco di notte", {"safety"}),
    ("it", "Mio figlio è finito al pronto soccorso dopo il vostro gelato", {"safety"}),
    ("it", "Vi faccio causa, ve lo garantisco", {"legal"}),
    ("it", "Procederò per vie legali", {"legal"}),
    ("it", "Ho mandato la disdetta, basta con voi", {"churn"}),
    ("it", "Domani cambio operatore", {"churn"}),
    ("it", "L'app non funziona da stamattina", {"outage"}),
    ("it", "Ancora un disservizio, ma che succede?", {"outage"}),
    # Hebrew
    ("he", "קיבלתי הרעלת מזון אחרי שאכלתי אצלכם", {"safety"}),
    ("he", "הַמִּטְעָן עָלָה בָּאֵשׁ בְּאֶמְצַע הַלַּיְלָה", {"safety"}),
    ("he", "הבן שלי נפצע מהקורקינט שקניתי אצלכם", {"safety"}),
    ("he", "אני פונה לעורך דין", {"legal"}),
    ("he", "אתבע אתכם על כל שקל", {"legal"}),
    ("he", "אני רוצה לבטל את המנוי", {"churn"}),
    ("he", "אני עוזבת אתכם אחרי עשר שנים", {"churn"}),
    ("he", "האתר לא עובד כבר שעה", {"outage"}),
    ("he", "האפליקציה נפלה שוב?", {"outage"}),
    # Czech
    ("cs", "Po jídle u vás jsem se otrávil, celou noc jsem zvracel", {"safety"}),
    ("cs", "Po jidle u vas jsem se otravil", {"safety"}),
    ("cs", "Nabíječka začala hořet", {"safety"}),
    ("cs", "Dcera skončila v nemocnici s alergickou reakcí", {"safety"}),
    ("cs", "Podám na vás žalobu", {"legal"}),
    ("cs", "Už to řeším s právníkem", {"legal"}),
    ("cs", "Chci zrušit účet, hned", {"churn"}),
    ("cs", "Přecházím ke konkurenci", {"churn"}),
    ("cs", "Aplikace nefunguje už od rána", {"outage"}),
    ("cs", "Nemůžu se přihlásit do bankovnictví", {"outage"}),
    # Greek
    ("el", "Πάθαμε τροφική δηλητηρίαση μετά το φαγητό σας", {"safety"}),
    ("el", "ΤΟ ΚΙΝΗΤΟ ΠΗΡΕ ΦΩΤΙΑ ΣΤΗ ΦΟΡΤΙΣΗ", {"safety"}),
    ("el", "Ο γιος μου τραυματίστηκε από το παιχνίδι σας", {"safety"}),
    ("el", "Θα κάνω μήνυση στην εταιρεία σας", {"legal"}),
    ("el", "Θα τα πούμε στα δικαστήρια", {"legal"}),
    ("el", "Θέλω να ακυρώσω τη συνδρομή μου", {"churn"}),
    ("el", "Κάνω φορητότητα αύριο κιόλας", {"churn"}),
    ("el", "Έπεσε το site;", {"outage"}),
    ("el", "Δεν μπορώ να συνδεθώ στην εφαρμογή", {"outage"}),
    # French
    ("fr", "Intoxication alimentaire après votre menu, toute la famille malade", {"safety"}),
    ("fr", "Ma trottinette a pris feu dans le garage", {"safety"}),
    ("fr", "Mon fils a fini aux urgences", {"safety"}),
    ("fr", "Je vais porter plainte", {"legal"}),
    ("fr", "J\u2019ai contacté mon avocat", {"legal"}),
    ("fr", "On se verra au tribunal", {"legal"}),
    ("fr", "Je veux résilier mon abonnement", {"churn"}),
    ("fr", "Je passe chez la concurrence", {"churn"}),
    ("fr", "Le site est en panne depuis ce matin", {"outage"}),
    ("fr", "Impossible de me connecter à l'appli", {"outage"}),
    # German
    ("de", "Lebensmittelvergiftung nach eurem Döner!", {"safety"}),
    ("de", "Der Akku ist explodiert", {"safety"}),
    ("de", "Mein Sohn musste ins Krankenhaus", {"safety"}),
    ("de", "Ich werde euch verklagen", {"legal"}),
    ("de", "Das geht jetzt an meinen Anwalt", {"legal"}),
    ("de", "Ich kündige meinen Vertrag", {"churn"}),
    ("de", "Wechsle zu O2, reicht mir", {"churn"}),
    ("de", "App funktioniert nicht, schon wieder", {"outage"}),
    ("de", "Kann mich nicht einloggen", {"outage"}),
    # Spanish
    ("es", "Intoxicación alimentaria después de comer en vuestro local", {"safety"}),
    ("es", "El cargador se prendió fuego", {"safety"}),
    ("es", "Mi hija acabó en urgencias", {"safety"}),
    ("es", "Los voy a demandar", {"legal"}),
    ("es", "Ya hablé con mi abogado", {"legal"}),
    ("es", "Quiero darme de baja", {"churn"}),
    ("es", "Me cambio a Movistar", {"churn"}),
    ("es", "Se cayó la app otra vez", {"outage"}),
    ("es", "No puedo iniciar sesión desde ayer", {"outage"}),
    # Dutch
    ("nl", "Voedselvergiftiging na jullie kipsalade", {"safety"}),
    ("nl", "Mijn laadkabel vloog in brand", {"safety"}),
    ("nl", "Mijn zoon raakte gewond door jullie fiets", {"safety"}),
    ("nl", "Ik neem een advocaat in de arm", {"legal"}),
    ("nl", "Ik stap naar de geschillencommissie", {"legal"}),
    ("nl", "Ik ga mijn abonnement opzeggen", {"churn"}),
    ("nl", "Ik stap over naar een andere provider", {"churn"}),
    ("nl", "Weer een storing bij jullie", {"outage"}),
    ("nl", "Kan niet inloggen in de app", {"outage"}),
    # Polish
    ("pl", "Chyba się zatrułem po waszej pizzy", {"safety"}),
    ("pl", "Chyba sie zatrulem po waszej pizzy", {"safety"}),
    ("pl", "Mam zatrucie pokarmowe po kebabie od was", {"safety"}),
    ("pl", "Telefon stanął w ogniu podczas ładowania", {"safety"}),
    ("pl", "Wylądowałem w szpitalu", {"safety"}),
    ("pl", "Złożę pozew", {"legal"}),
    ("pl", "Zgłaszam to do UOKiK", {"legal"}),
    ("pl", "Rezygnuję z waszych usług", {"churn"}),
    ("pl", "Wypowiadam umowę", {"churn"}),
    ("pl", "Disney+ znowu drożeje. Chyba czas zrezygnować.", {"churn"}),
    ("pl", "Aplikacja nie działa od rana", {"outage"}),
    ("pl", "Nie mogę się zalogować", {"outage"}),
    # Portuguese
    ("pt", "Tive intoxicação alimentar depois de comer aí", {"safety"}),
    ("pt", "O carregador pegou fogo", {"safety"}),
    ("pt", "Meu filho foi parar no pronto-socorro", {"safety"}),
    ("pt", "Vou processar vocês", {"legal"}),
    ("pt", "Vou abrir reclamação no Procon", {"legal"}),
    ("pt", "Quero cancelar minha assinatura", {"churn"}),
    ("pt", "Vou fazer a portabilidade", {"churn"}),
    ("pt", "Ficou caro demais pro que oferece. Pensando em cancelar.", {"churn"}),
    ("pt", "O app está fora do ar", {"outage"}),
    ("pt", "Não consigo fazer login", {"outage"}),
    # more than one class in one post
    ("en", "Battery exploded in my hand, my lawyer will hear about this", {"safety", "legal"}),
    ("fr", "Le site est en panne, je vais résilier", {"outage", "churn"}),
]


@pytest.mark.parametrize(("lang", "text", "expected"), POSITIVES, ids=[f"{p[0]}-{i}" for i, p in enumerate(POSITIVES)])
def test_default_positives(defaults: KeywordMatcher, lang: str, text: str, expected: set[str]) -> None:
    assert set(names(defaults, text, lang)) == expected
    # an unknown language must not lose the hit
    assert expected <= set(names(defaults, text, None))


def test_positive_table_covers_every_class_and_language() -> None:
    covered = {(lang, name) for lang, _, expected in POSITIVES for name in expected}
    assert covered >= {(lang, name) for lang in LANGS for name in CLASSES}


# Everyday posts with a risky word in them. None may raise anything, in its own
# language or with the language unknown (when every language's rules apply).
NEGATIVES = [
    ("en", "this deal is fire \U0001f525"),
    ("en", "Fire sale this weekend!"),
    ("en", "Firefox keeps my tabs, love it"),
    ("en", "sitting by the campfire with your hot chocolate"),
    ("en", "I'll issue a refund request tomorrow"),
    ("en", "the lawyer in the ad was funny"),
    ("en", "Shout out to Sue, she sorted it in minutes"),
    ("en", "Thanks Sue you're a star"),
    ("en", "Prices are down this week"),
    ("en", "The app is downloading slowly but fine"),
    ("en", "Cancel culture is wild lol"),
    ("en", "Had to cancel my plans, the delivery was early!"),
    ("en", "Loving the Listerine promo"),
    ("en", "Your new burger is killer, I'm obsessed"),
    ("ro", "Reducere de foc la toate produsele!"),
    ("ro", "Am luat o raniță nouă pentru școală de la voi"),
    ("ro", "Avocatul din reclamă e foarte amuzant"),
    ("ro", "A se păstra ferită de lumină"),
    ("ro", "O echipă rezilientă, bravo"),
    ("ro", "Procesul de comandă a fost rapid"),
    ("it", "Quest'offerta è di fuoco!"),
    ("it", "L'avvocato nella pubblicità mi fa ridere"),
    ("it", "Il sito funziona benissimo"),
    ("it", "Ho comprato il kit di pronto soccorso, ottimo"),
    ("he", "מבצע לוהט!"),
    ("he", "עורך הדין בפרסומת מצחיק"),
    ("he", "האתר עובד מצוין"),
    ("he", "נפלא, תודה רבה"),
    ("cs", "To je ale otrava, čekat na kurýra"),
    ("cs", "Aplikace funguje skvěle"),
    ("cs", "Proces objednávky byl rychlý"),
    ("el", "Φωτιά οι τιμές σας!"),
    ("el", "Τα παιδιά έχουν φυσική αγωγή σήμερα"),
    ("el", "Η εφαρμογή λειτουργεί τέλεια"),
    ("fr", "Un avocat dans ma salade, trop bon"),
    ("fr", "Une équipe résiliente, bravo"),
    ("fr", "Que choisir entre le rouge et le bleu ?"),
    ("fr", "Vos prix ont explosé"),
    ("fr", "Le site marche très bien"),
    ("de", "Feuer und Flamme für euer neues Produkt!"),
    ("de", "Mein Verbrennungsmotor läuft super"),
    ("de", "Ich habe mich an das neue Design gewöhnt"),
    ("es", "Esta oferta está que arde"),
    ("es", "Estoy de baja esta semana, pedí a domicilio"),
    ("es", "La demanda de este producto es enorme"),
    ("es", "Productos de baja calidad no, gracias"),
    ("nl", "Advocaat met slagroom, heerlijk"),
    ("nl", "Zeer kundige medewerkers, top"),
    ("nl", "Overstappen in Utrecht ging prima"),
    ("nl", "Brand awareness campagne van jullie is leuk"),
    ("pl", "Ranny ptaszek dostaje rabat"),
    ("pl", "Zapaliła się kontrolka silnika, jadę do serwisu"),
    ("pl", "Pozwólcie, że polecę wasz sklep"),
    ("pl", "Żałoba narodowa, sklep zamknięty"),
    ("pl", "Składam zażalenie na decyzję"),
    ("pt", "O sistema vai processar o pagamento amanhã"),
    ("pt", "Feriado prolongado com promoções"),
    ("pt", "Adorei a decoração, muito deco"),
]


@pytest.mark.parametrize(("lang", "text"), NEGATIVES, ids=[f"{n[0]}-{i}" for i, n in enumerate(NEGATIVES)])
def test_default_negatives(defaults: KeywordMatcher, lang: str, text: str) -> None:
    assert defaults.match(text, lang) == []
    assert defaults.match(text, None) == []


def test_defaults_are_fast_enough(defaults: KeywordMatcher) -> None:
    """About 100 posts/s are needed; demand 1,000/s so a loaded CI machine still passes."""
    posts = [text for _, text, _ in POSITIVES] + [text for _, text in NEGATIVES]
    batch = (posts * (2000 // len(posts) + 1))[:2000]
    start = time.perf_counter()
    for text in batch:
        defaults.match(text, None)
    assert time.perf_counter() - start < 2.0


def test_recent_matches_answers_like_the_matcher_and_stays_bounded():
    from streams.core.keywords import KeywordMatcher, KeywordRule, RecentMatches

    matcher = KeywordMatcher([KeywordRule(name="safety", phrases=["food poisoning"], langs=["en"])])
    recent = RecentMatches(matcher, size=2)
    for text, lang in [("food poisoning here", "en"), ("food poisoning here", "en"), ("food poisoning here", "ro"),
                       ("nothing", None), ("food poisoning here", "en")]:
        assert recent.match(text, lang) == matcher.match(text, lang)
    assert len(recent._recent) == 2
