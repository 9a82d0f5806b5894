"""Word lists for claim splitting and attribution suggestions.

Written for this project from general knowledge of English news prose. The
starting points were three public lists, none of them copied: the reporting
verbs of Krestel, Bergler and Witte (2008, "Minding the Source: Automatic
Tagging of Reported Speech in Newspaper Articles"), textacy's reporting-verb
list used by its direct-quotation extractor, and the quote verbs of the SFU
Discourse Lab's Gender Gap Tracker. Everything here is plain data: the
segmenter and the attribution rules read it, nothing else.
"""

from __future__ import annotations

# --------------------------------------------------------------- segmentation

# Titles that stand before a name: a period after them never ends a sentence.
TITLE_ABBREVIATIONS = frozenset(
    """mr mrs ms messrs mmes dr prof gen lt col maj capt cpt sgt cpl pvt adm cmdr cdr
    brig gov sen rep reps sens pres supt insp det atty rev hon fr sr sra srta mt ft st
    mme mlle gens""".split()
)

# Abbreviations that may end a sentence: a period after them ends one only
# when the next word is one that usually opens a sentence.
ABBREVIATIONS = frozenset(
    """jr co corp inc ltd llc plc bros dept univ assn assoc est approx vs etc al cf
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri
    sat sun no nos nr n° p pp para fig figs vol vols ch chap sec art ed eds ave blvd rd hwy
    km kg mi ft oz lb lbs sq min max tel ext govt intl natl mil ca yr yrs op pt pts""".split()
)

# Capitalised words that usually open a sentence. After an abbreviation or an
# initial ("the U.S. How", "you and I. Did") they tell a sentence end from a
# name that goes on ("the U.S. Government", "Albert I. Jones").
SENTENCE_STARTERS = frozenset(
    """the a an it its he she they we i you his her their our my your this that these
    those there here but and or so yet in on at as if when while after before since
    however meanwhile what who whom whose how why where which did do does is are was were
    has have had will would can could should shall may might must not no yes one some
    many most all both each every such other another according also still then now today
    yesterday tomorrow last next for from with by of to despite although though because
    until unless once instead only even later earlier nevertheless nonetheless moreover
    furthermore thus therefore first second finally overall""".split()
)

# Lines that introduce a list of links or references: the line and its items
# are not claims.
LINK_LIST_HEADINGS = frozenset(
    """read also|read more|also read|see also|related|related articles|related stories|
    related coverage|related news|more on this story|more on this|recommended|
    you may also like|further reading|more from|most read|trending""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)
BIBLIOGRAPHY_HEADINGS = frozenset(
    """sources|source|references|bibliography|notes|external links|citations|
    works cited""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)

# "Image: Nick Moreau." under a photo: the credit names who made the picture.
CREDIT_LABELS = (
    "Image",
    "Images",
    "Photo",
    "Photos",
    "Photograph",
    "Picture",
    "Pictures",
    "Photo credit",
    "Image credit",
    "Credit",
    "Illustration",
    "Video",
    "Graphic",
    "Map",
)

WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
MONTHS = frozenset(
    """january february march april may june july august september october november
    december""".split()
)

# --------------------------------------------------------------- attribution

# Reporting verbs by lemma. "strong" verbs attribute whatever follows them;
# "weak" ones attribute only when a clause, a quote or a colon follows
# ("Kim described their mission as ...", not "He described Montalvo as ...")
# or when their subject is a document ("the findings show").
STRONG_REPORTING_VERBS = frozenset(
    """say tell report state announce claim confirm declare insist assert argue allege
    acknowledge admit deny warn comment tweet mention indicate proclaim emphasize
    emphasise stress reveal suspect estimate testify disclose contend maintain reiterate
    remark reply respond retort quip vow pledge caution speculate hint
    theorize theorise predict forecast brief inform notify recount lament complain boast
    affirm aver opine posit underline underscore clarify specify accuse""".split()
)
WEAK_REPORTING_VERBS = frozenset(
    """add explain note observe write describe believe think find show suggest conclude
    recommend learn reason continue agree recall point read characterize characterise
    calculate project fear hope expect consider feel know concede""".split()
)
# Weak verbs that usually take a plain object ("read an article", "describe the
# court's judgement as ..."): they report only before a clause or a quotation.
OBJECT_TAKING_VERBS = frozenset(
    """describe show read continue agree recall point characterize characterise calculate
    project fear hope expect consider feel know recommend concede""".split()
)
# Forms that are at least as often nouns: "asylum claims", "media reports".
NOUN_LIKE_FORMS = frozenset(
    """claim claims report reports estimate estimates states notes note comments comment
    remarks remark replies reply thoughts finds finding shows show points point
    concerns tweets tweet warns statement statements reads read writes find""".split()
)
# Subjects whose "found" or "show" reports a finding.
EVIDENCE_SUBJECTS = frozenset(
    """scientists researchers authors investigators analysts experts economists
    scientist researcher""".split()
)
# Verbs that carry doubt in their own meaning: the attributed content is
# speculative, whoever says it.
SPECULATIVE_VERBS = frozenset("suspect speculate allege hint fear believe think".split())
ESTIMATE_VERBS = frozenset("estimate calculate project forecast predict".split())
CLAIM_VERBS = frozenset("claim allege insist contend maintain".split())
CONFIRM_VERBS = frozenset("confirm affirm verify".split())

_IRREGULAR_FORMS = {
    "say": ("says", "said", "saying"),
    "tell": ("tells", "told", "telling"),
    "write": ("writes", "wrote", "written", "writing"),
    "think": ("thinks", "thought", "thinking"),
    "find": ("finds", "found", "finding"),
    "show": ("shows", "showed", "shown", "showing"),
    "read": ("reads", "reading"),
    "know": ("knows", "knew", "known", "knowing"),
    "feel": ("feels", "felt", "feeling"),
    "forecast": ("forecasts", "forecasted", "forecasting"),
}
# Consonant doubling that a plain suffix rule gets wrong.
_DOUBLING = {"admit", "quip", "regret", "commit", "refer", "aver", "omit"}


def _inflect(lemma: str) -> tuple[str, ...]:
    if lemma in _IRREGULAR_FORMS:
        return (lemma, *_IRREGULAR_FORMS[lemma])
    if lemma in _DOUBLING:
        stem = lemma + lemma[-1]
        return (lemma, lemma + "s", stem + "ed", stem + "ing")
    if lemma.endswith("e"):
        return (lemma, lemma + "s", lemma + "d", lemma[:-1] + "ing")
    if lemma.endswith("y") and lemma[-2] not in "aeiou":
        return (lemma, lemma[:-1] + "ies", lemma[:-1] + "ied", lemma + "ing")
    if lemma.endswith(("s", "sh", "ch", "x", "z")):
        return (lemma, lemma + "es", lemma + "ed", lemma + "ing")
    return (lemma, lemma + "s", lemma + "ed", lemma + "ing")


def _forms(lemmas: frozenset[str]) -> dict[str, str]:
    return {form: lemma for lemma in lemmas for form in _inflect(lemma)}


# Every inflected form mapped to its lemma.
REPORTING_VERB_FORMS: dict[str, str] = {
    **_forms(WEAK_REPORTING_VERBS),
    **_forms(STRONG_REPORTING_VERBS),
}
# "point" reports only as "point out"; the bare word is far more often a noun.
POINT_FORMS = frozenset(_inflect("point"))

# "reports from NATO", "a statement by the ministry", "estimates from Kyiv".
ATTRIBUTION_NOUNS = frozenset(
    """report reports statement statements estimate estimates assessment assessments
    data figures claim claims account accounts analysis testimony announcement
    briefing findings sources""".split()
)
# Nouns for a document or evidence: as a subject they make a weak verb report
# ("the findings show", "figures show").
DOCUMENT_NOUNS = frozenset(
    """report reports study studies survey surveys analysis analyses research results
    findings figures data statistics estimates evidence poll polls letter document
    documents statement memo review investigation assessment paper census records
    article post posts blog website website's""".split()
)

# Words that walk a subject phrase back no further: clause openers and
# function words that cannot sit inside a noun phrase.
CLAUSE_WORDS = frozenset(
    """that which who whom whose where when while whereas and but or nor because as if
    though although after before since so than then once unless until whether with
    without despite thus therefore however meanwhile also""".split()
)
# Words skipped between a subject and its verb ("has also previously said").
AUXILIARIES = frozenset(
    """has have had having will would shall should can could may might must did do does
    is are was were be been being also previously later earlier publicly privately
    repeatedly recently reportedly allegedly initially subsequently then now still
    already once again further separately personally mistakenly officially jointly
    quickly firmly openly not never n't first twice again just even often always ever
    well""".split()
)
PREPOSITIONS_IN_NAMES = frozenset("of for to on at in from de del du der van von la le".split())
DETERMINERS = frozenset(
    """the a an this that these those his her its their our my your some several many
    most both all one two three four five six seven eight nine ten each every any another
    other such no""".split()
)
PERSONAL_PRONOUNS = frozenset("he she they it we i you".split())
# Lower-case words that end a noun phrase read rightwards: verbs and other
# words that begin a new constituent.
NP_STOP_WORDS = frozenset(
    """is are was were be been being has have had will would can could should may might
    must did do does made said says told reported that which who whom whose where when
    while as because but and or if than then so by with at in on after before during
    since until about over into through against between under also not just only even
    being having saying according per via""".split()
)

# ---------------------------------------------------------------- source kinds

STATE_MEDIA_NAMES = frozenset(
    """kcna kctv tass ria xinhua rodong sana irna isna fars mehr tasnim cctv cgtn sputnik
    rt wam spa mena anadolu vietnam bernama ptv prensa granma vnews yonhap""".split()
)
STATE_MEDIA_WORDS = (
    "state media",
    "state-run",
    "state run",
    "state-owned",
    "state news",
    "state television",
    "state tv",
    "state broadcaster",
    "official news agency",
    "news agency",
    "central news",
    "party newspaper",
)
INTELLIGENCE_NAMES = frozenset(
    """cia nis nsa dia fbi mi5 mi6 gchq mossad shin fsb gru svr sbu gur hur bnd dgse asio
    csis isi""".split()
)
INTELLIGENCE_WORDS = ("intelligence", "spy agency", "spy service", "security service")
MILITARY_WORDS = (
    "general staff",
    "armed forces",
    "army",
    "military",
    "pentagon",
    "navy",
    "air force",
    "marine",
    "troops",
    "forces",
    "command",
    "commander",
    "general ",
    "joint chiefs",
    "defense ministry",
    "defence ministry",
    "ministry of defense",
    "ministry of defence",
    "kpa",
    "idf",
    "brigade",
    "battalion",
    "regiment",
)
INTERNATIONAL_ORG_NAMES = frozenset(
    """nato un un's who iaea eu imf unhcr unicef icrc osce opcw wto unesco fao wfp
    asean ocha""".split()
)
INTERNATIONAL_ORG_WORDS = (
    "united nations",
    "european union",
    "european commission",
    "world health organisation",
    "world health organization",
    "red cross",
    "red crescent",
    "world bank",
    "amnesty international",
    "human rights watch",
    "high commissioner",
    "security council",
    "african union",
    "international atomic",
    "international criminal court",
    "international court",
    "monetary fund",
)
EXPERT_WORDS = (
    "analyst",
    "expert",
    "researcher",
    "scientist",
    "professor",
    "academic",
    "scholar",
    "economist",
    "think tank",
    "institute",
    "university",
    "study",
    "studies",
    "survey",
    "report's authors",
    "authors",
    "observers",
    "specialist",
    "historian",
    "doctor",
    "physician",
    "dr.",
)
ANONYMOUS_WORDS = (
    "sources",
    "a source",
    "one source",
    "insiders",
    "an insider",
    "people familiar",
    "person familiar",
    "not to be named",
    "not authorized",
    "not authorised",
    "condition of anonymity",
    "declined to be named",
    "declined to be identified",
    "anonymous",
    "unnamed",
)
OFFICIAL_WORDS = (
    "official",
    "minister",
    "spokesperson",
    "spokesman",
    "spokeswoman",
    "spokesmen",
    "secretary",
    "ambassador",
    "mayor",
    "governor",
    "senator",
    "representative",
    "diplomat",
    "envoy",
    "undersecretary",
    "director",
    "chairman",
    "chairwoman",
    "chair ",
    "commissioner",
    "police",
    "sheriff",
    "prosecutor",
    "judge",
    "lawmaker",
    "mp ",
    "deputy",
    "councillor",
    "councilor",
    "adviser",
    "advisor",
    "aide",
)
GOVERNMENT_WORDS = (
    "government",
    "ministry",
    "president",
    "prime minister",
    "premier",
    "chancellor",
    "kremlin",
    "white house",
    "home office",
    "foreign office",
    "state department",
    "department",
    "administration",
    "cabinet",
    "parliament",
    "congress",
    "municipality",
    "council",
    "leader",
    "regime",
    "authorities",
    "agency",
    "office",
    "city",
    "state of",
    "republic",
    "kingdom",
)
# Countries and capitals stand for their governments in news prose
# ("Ukraine indicated", "Moscow denied").
COUNTRY_NAMES = frozenset(
    """afghanistan albania algeria argentina armenia australia austria azerbaijan
    bahrain bangladesh belarus belgium bolivia bosnia brazil britain bulgaria cambodia
    cameroon canada chile china colombia croatia cuba cyprus czechia denmark ecuador
    egypt eritrea estonia ethiopia finland france georgia germany ghana greece guatemala
    haiti hungary iceland india indonesia iran iraq ireland israel italy japan jordan
    kazakhstan kenya kosovo kuwait kyrgyzstan laos latvia lebanon libya lithuania
    luxembourg malaysia mali mexico moldova mongolia montenegro morocco myanmar nepal
    netherlands nicaragua niger nigeria norway oman pakistan palestine panama paraguay
    peru philippines poland portugal qatar romania russia rwanda serbia singapore
    slovakia slovenia somalia spain sudan sweden switzerland syria taiwan tajikistan
    tanzania thailand tunisia turkey turkmenistan uganda ukraine uruguay uzbekistan
    venezuela vietnam yemen zambia zimbabwe moscow kyiv kiev beijing pyongyang seoul
    tokyo washington london paris berlin tehran jerusalem ankara brussels delhi""".split()
)
COUNTRY_PHRASES = (
    "north korea",
    "south korea",
    "united states",
    "united kingdom",
    "saudi arabia",
    "new zealand",
    "south africa",
    "sri lanka",
    "the us",
    "the u.s.",
    "the uk",
    "the u.k.",
)

# ------------------------------------------------------------------ confidence

UNCLEAR_PHRASES = (
    "remains unclear",
    "remain unclear",
    "is unclear",
    "was unclear",
    "are unclear",
    "were unclear",
    "unclear whether",
    "unclear how",
    "it is not clear",
    "it was not clear",
    "not known",
    "unknown",
    "varied widely",
    "vary widely",
    "varies widely",
    "disputed",
    "contested",
    "conflicting",
    "could not be verified",
    "could not be independently verified",
    "cannot be verified",
    "could not be confirmed",
    "not been confirmed",
    "not independently confirmed",
    "unconfirmed",
    "unverified",
    "no way to verify",
    "remains to be seen",
)
SPECULATIVE_WORDS = frozenset(
    """reportedly allegedly alleged possibly perhaps maybe might may could likely
    unlikely apparently presumably probably purportedly supposedly suspected rumoured
    rumored seemingly""".split()
)
SPECULATIVE_PHRASES = (
    "believed to",
    "thought to",
    "said to be",
    "expected to",
    "is feared",
    "are feared",
    "appears to",
    "appear to",
    "seems to",
    "seem to",
)
# Hedges that only estimate when a number follows: "around 2,000", "over 10,000".
NUMBER_HEDGES = frozenset(
    """around about approximately roughly nearly almost over under some up estimated
    est. circa ca. more fewer less at least upwards""".split()
)
ESTIMATE_PHRASES = (
    "estimates suggest",
    "estimate suggests",
    "estimated",
    "estimates",
    "an estimated",
    "projected",
)
CONFIRM_WORDS = frozenset("confirmed confirms confirm verified officially".split())
CLAIM_WORDS = frozenset("claimed claims claim claiming alleging insisted insists".split())

# First-person and second-person voice or obligation outside a quote: the
# article's own opinion or advice rather than a checkable statement.
OPINION_WORDS = frozenset("should ought must you your i we our my".split())
