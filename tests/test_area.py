"""Internship area: a request names it; a mention of algorithms in coursework does not."""

import pytest

from intake.extraction.area import find_area

CASES = [
    ("Internship Program application (Algorithms) - Summer 2017", "", "algorithms"),
    ("", "I would like to apply for the Algorithms internship.", "algorithms"),
    ("", "I am interested in the algorithms internship.", "algorithms"),
    ("", "Please consider me for an internship in Algorithms.", "algorithms"),
    ("", "I'm applying for the Algorithms Intern position.", "algorithms"),
    ("Algorithms intern application", "", "algorithms"),
    ("", "Area: Algorithms - internship for summer", "algorithms"),
    ("", "I would like to apply for the Software Engineering internship.", "software_engineering"),
    ("", "I'm applying for a SWE intern position.", "software_engineering"),
    ("", "I'd love a backend/web development internship.", "software_engineering"),
    ("", "I am applying to be a software engineering intern.", "software_engineering"),
    ("Software Engineering Internship - Fall-Winter 2016", "", "software_engineering"),
    ("", "an internship in software engineering would be ideal", "software_engineering"),
    ("Application (Software Engineering)", "", "software_engineering"),
    ("Internship", "I'm applying for the Algorithms internship.", "algorithms"),
    ("Software Engineering internship", "I also love algorithms.", "software_engineering"),
    ("", "Coursework: Algorithms, Data Structures", None),
    ("", "I have excellent algorithmic problem solving skills.", None),
    ("", "I want to work on algorithms and machine learning.", None),
    ("", "I'm a software engineer with 5 years experience.", None),
    ("Research Internship", "I study computational neuroscience.", None),
    ("", "", None),
]


@pytest.mark.parametrize(("subject", "body", "area"), CASES)
def test_area(subject, body, area):
    found = find_area(subject, body)
    assert (found[0] if found else None) == area
    if found:
        assert found[1].lower() in (subject + " " + body).lower()
