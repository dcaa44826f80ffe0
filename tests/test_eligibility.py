"""Eligibility statements with evidence: table-driven, with negation and past-tense traps."""

from datetime import UTC, datetime

import pytest

from intake.extraction.eligibility import assess, sponsorship
from intake.extraction.institutions import us_institution

CASES = [
    # (body, expected basis)
    ("I am a US citizen.", ["us_citizen"]),
    ("I'm a U.S. citizen and a senior at Georgia Tech.", ["us_citizen", "us_university_enrolled"]),
    ("I am an American citizen.", ["us_citizen"]),
    ("I have United States citizenship.", ["us_citizen"]),
    ("I am a citizen of the United States.", ["us_citizen"]),
    ("I am a US\ncitizen, born in Ohio.", ["us_citizen"]),
    ("I am a dual US/German citizen.", ["us_citizen"]),
    (
        "I am a US citizen (dual US/German) studying at the Technical University of Munich.",
        ["us_citizen"],
    ),
    ("I hold a Green Card.", ["green_card"]),
    ("I am a green-card holder.", ["green_card"]),
    ("I am a lawful permanent resident of the United States.", ["green_card"]),
    ("I'm a permanent resident (green card).", ["green_card"]),
    (
        "I am a Canadian citizen, currently finishing my MSc at McGill University.",
        ["nafta_citizen"],
    ),
    ("I am a Mexican citizen and a PhD student at UNAM.", ["nafta_citizen"]),
    ("I hold Canadian citizenship.", ["nafta_citizen"]),
    ("I'm Mexican.", ["nafta_citizen"]),
    ("I'm a citizen of Canada.", ["nafta_citizen"]),
    ("I'm an international student enrolled at UC San Diego.", ["us_university_enrolled"]),
    ("I am a third-year PhD student at Stanford University.", ["us_university_enrolled"]),
    ("I'm a junior at Georgia Tech studying computer science.", ["us_university_enrolled"]),
    (
        "I am currently enrolled in the MS program at Carnegie Mellon University.",
        ["us_university_enrolled"],
    ),
    ("I'm pursuing a master's degree at UT Austin.", ["us_university_enrolled"]),
    ("Ph.D. student at Stanford.", ["us_university_enrolled"]),
    ("I am an F-1 student at UIUC.", ["us_university_enrolled"]),
    (
        "Although I'm not a US citizen or green card holder, I am a PhD student at Stanford.",
        ["us_university_enrolled"],
    ),
    ("I am not a US citizen, but I am enrolled at MIT.", ["us_university_enrolled"]),
    # traps: negation, past tense, pending, other countries, the pronoun "us"
    ("I am not a US citizen.", []),
    ("I'm not a U.S. citizen.", []),
    ("I am neither a US citizen nor a green card holder.", []),
    ("I don't have a green card.", []),
    ("My green card application is pending.", []),
    ("I am applying for a green card.", []),
    ("I am a permanent resident of Canada.", []),
    ("I studied in the US years ago and now work in Berlin.", []),
    ("I studied in the U.S. years ago. Now I work in Berlin.", []),
    ("I graduated from MIT in 2012.", []),
    ("I was a student at Stanford until 2015.", []),
    ("I completed my PhD at Caltech.", []),
    ("Our team supports us citizens of the world.", []),
    ("Join us at Stanford next week.", []),
    ("I work with Canadian and Mexican clients.", []),
    ("I am a student at McGill University.", []),
    ("I am a student at the University of Toronto.", []),
    ("My advisor at Stanford recommended Numenta.", []),
    ("I am not Canadian.", []),
    ("I'm not a Mexican citizen.", []),
    ("", []),
]


@pytest.mark.parametrize(("body", "basis"), CASES)
def test_basis(body, basis):
    result = assess(body)
    assert sorted(result.basis) == sorted(basis)
    for item in result.evidence:
        assert item.code in basis and item.source == "body"
        assert item.text in " ".join(body.split())


def test_evidence_is_the_sentence():
    result = assess("Hello team. I hold a Green Card and live in Oakland. Thanks!")
    assert [(e.code, e.text) for e in result.evidence] == [
        ("green_card", "I hold a Green Card and live in Oakland.")
    ]


STATUS = [
    ("I am a US citizen.", "eligible"),
    ("I am a Canadian citizen.", "eligible"),
    ("I am not a US citizen; I would require H-1B visa sponsorship.", "ineligible"),
    ("I will need visa sponsorship.", "ineligible"),
    ("Hello, here is my resume.", "unknown"),
    ("I am not a US citizen.", "unknown"),
]


@pytest.mark.parametrize(("body", "status"), STATUS)
def test_status_with_every_basis_accepted(body, status):
    assert assess(body).status == status


def test_posting_policy_narrows_accepted_basis():
    internship_program = ("us_citizen", "green_card", "us_university_enrolled")
    result = assess("I am a Canadian citizen.", accepted=internship_program)
    assert (result.status, result.basis) == ("ineligible", ("nafta_citizen",))


SPONSORSHIP = [
    ("I would require H-1B visa sponsorship.", True),
    ("I will need a visa sponsor.", True),
    ("I need sponsorship for a work visa.", True),
    ("I require work authorization sponsorship.", True),
    ("I do not need visa sponsorship.", False),
    ("I don't require H1B sponsorship.", False),
    ("I am authorized to work in the US without sponsorship.", False),
    ("I won't need a visa.", False),
    ("I visited the US on a tourist visa.", False),
    ("", False),
]


@pytest.mark.parametrize(("body", "needed"), SPONSORSHIP)
def test_sponsorship(body, needed):
    assert sponsorship(body)[0] is needed
    assert assess(body).needs_sponsorship is needed


def test_resume_adds_codes_but_body_wins():
    resume = "Education\nM.S. Computer Science, University of California, San Diego (expected 2019)"
    assert assess("Hello.", resume).basis == ("us_university_enrolled",)
    assert assess("Hello.", "B.S. Physics, University of Michigan, 2014").basis == ()
    assert assess("I am not a US citizen.", "Citizenship: US citizen").basis == ()
    assert assess("", "Citizenship: US citizen").evidence[0].source == "resume"


def test_resume_lines_are_judged_one_by_one():
    resume = (
        "Experience\n2016-present  Research Engineer, Vision Lab, Boston MA\n"
        "Education\nM.S. Electrical Engineering, Boston University, 2016"
    )
    assert assess("Hello.", resume).basis == ()


INSTITUTIONS = [
    ("enrolled at UC San Diego", "University of California, San Diego"),
    ("a UCSD student", "University of California, San Diego"),
    ("CMU", "Carnegie Mellon University"),
    ("Georgia Tech", "Georgia Institute of Technology"),
    ("UT Austin", "The University of Texas at Austin"),
    ("University of Illinois at Urbana-Champaign", "University of Illinois Urbana-Champaign"),
    ("San Jose State University", "San Jose State University"),
    ("McGill University", None),
    ("Technical University of Munich", None),
    ("Universidad Nacional Autónoma de México", None),
]


@pytest.mark.parametrize(("text", "official"), INSTITUTIONS)
def test_us_institution(text, official):
    assert us_institution(text) == official


ABOUT_OTHERS = [
    "My father is a US citizen.",
    "My wife holds a green card.",
    "I am married to a US citizen.",
    "My brother is a student at MIT.",
    "She is a US citizen and a great student.",
    "I am the son of a green card holder.",
]


@pytest.mark.parametrize("body", ABOUT_OTHERS)
def test_statements_about_someone_else_are_not_the_applicants(body):
    assert assess(body).basis == ()


def test_own_statement_beside_someone_elses_counts():
    found = assess("My parents live in Ohio, and I am a US citizen.")
    assert found.basis == ("us_citizen",)


JAN_2018 = datetime(2018, 1, 15, tzinfo=UTC)
EDUCATION = [
    # (resume, basis): the school's line, with the degree and dates around it
    (
        "Jane Doe\nEDUCATION\nUniversity of Michigan, Ann Arbor, MI\n"
        "B.S. in Computer Science, GPA 3.8          Expected May 2018\nEXPERIENCE\nIntern",
        ("us_university_enrolled",),
    ),
    ("Education\nB.S. Computer Science - Expected May 2016\nUniversity of Michigan", ()),
    (
        "Education\nStanford University  2015 - Present\nPh.D. candidate",
        ("us_university_enrolled",),
    ),
    ("Education\nStanford University\nB.S. 2011 - 2015", ()),
    (
        "Education\nGeorgia Tech, M.S. Computer Science, Aug 2016 - Dec 2018",
        ("us_university_enrolled",),
    ),
    ("Education\nTechnical University of Munich, expected 2019", ()),
    ("Education\nTexas A&M University - B.S., expected December 2018", ("us_university_enrolled",)),
]


@pytest.mark.parametrize(("resume", "basis"), EDUCATION)
def test_enrolment_from_the_resume_education_section(resume, basis):
    found = assess("Hello.", resume, when=JAN_2018)
    assert found.basis == basis
    if basis:
        assert found.evidence[0].source == "resume"  # the entry, as evidence


@pytest.mark.parametrize(
    "body",
    [
        "I hold an MS in Computer Science from Georgia Tech.",
        "I received my M.S. from Georgia Tech in 2011 before my PhD in Brazil.",
        "Before that I did an MS at UCSD.",
    ],
)
def test_a_degree_held_is_not_current_enrolment(body):
    assert assess(body, when=JAN_2018).basis == ()
