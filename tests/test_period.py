"""Requested internship period: table-driven, with the traps (past tense, no year, no period)."""

from datetime import date

import pytest

from intake.extraction.period import find_period

NOV_2017 = date(2017, 11, 15)
FEB_2018 = date(2018, 2, 10)
JUL_2018 = date(2018, 7, 20)

CASES = [
    # (text, sent, start, end, phrase)
    ("I am applying for Summer 2018.", NOV_2017, "2018-06", "2018-08", "Summer 2018"),
    ("Spring/Summer 2018 works for me.", NOV_2017, "2018-03", "2018-08", "Spring/Summer 2018"),
    ("I'd like the Winter 2017/2018 slot.", NOV_2017, "2017-12", "2018-02", "Winter 2017/2018"),
    ("Winter 2017-18 would be ideal.", NOV_2017, "2017-12", "2018-02", "Winter 2017-18"),
    (
        "the open Fall-Winter 2016 position",
        date(2016, 6, 1),
        "2016-09",
        "2017-02",
        "Fall-Winter 2016",
    ),
    ("I'd like January-March 2018.", NOV_2017, "2018-01", "2018-03", "January-March 2018"),
    ("Jan–Mar would be ideal.", NOV_2017, "2018-01", "2018-03", "Jan–Mar"),
    ("Jan - Mar works.", JUL_2018, "2019-01", "2019-03", "Jan - Mar"),
    ("I am free from June 1 to August 31.", NOV_2017, "2018-06", "2018-08", "June 1 to August 31"),
    (
        "I can commit 3 to 4 months starting in June.",
        NOV_2017,
        "2018-06",
        "2018-09",
        "3 to 4 months starting in June",
    ),
    (
        "I can commit 3 to 4 months\nstarting in June.",
        NOV_2017,
        "2018-06",
        "2018-09",
        "3 to 4 months starting in June",
    ),
    (
        "starting June 2018 for three months",
        NOV_2017,
        "2018-06",
        "2018-08",
        "starting June 2018 for three months",
    ),
    ("I could start in September.", NOV_2017, "2018-09", None, "start in September"),
    ("I'd like to intern this summer.", FEB_2018, "2018-06", "2018-08", "this summer"),
    ("next spring would be great", NOV_2017, "2018-03", "2018-05", "next spring"),
    ("next spring would be great", JUL_2018, "2019-03", "2019-05", "next spring"),
    ("I am interested in a summer internship.", NOV_2017, "2018-06", "2018-08", "summer"),
    ("I am interested in a summer internship.", JUL_2018, "2018-06", "2018-08", "summer"),
    ("I am interested in a summer internship.", date(2018, 9, 2), "2019-06", "2019-08", "summer"),
    ("A fall internship, please.", FEB_2018, "2018-09", "2018-11", "fall"),
    ("An autumn internship, please.", FEB_2018, "2018-09", "2018-11", "autumn"),
    ("Winter 2018", NOV_2017, "2017-12", "2018-02", "Winter 2018"),
    ("Winter 2018", date(2018, 4, 1), "2018-12", "2019-02", "Winter 2018"),
    ("this winter", NOV_2017, "2017-12", "2018-02", "this winter"),
    ("06/2018 - 09/2018", NOV_2017, "2018-06", "2018-09", "06/2018 - 09/2018"),
    ("November-February 2018", NOV_2017, "2017-11", "2018-02", "November-February 2018"),
    (
        "November 2017 to February 2018",
        NOV_2017,
        "2017-11",
        "2018-02",
        "November 2017 to February 2018",
    ),
    ("Summer '18", NOV_2017, "2018-06", "2018-08", "Summer '18"),
    ("summer of 2018", NOV_2017, "2018-06", "2018-08", "summer of 2018"),
    ("Winter/Spring 2018", NOV_2017, "2017-12", "2018-05", "Winter/Spring 2018"),
    ("Summer or Fall 2018", NOV_2017, "2018-06", "2018-11", "Summer or Fall 2018"),
    (
        "In Summer 2016 I worked at IBM. I want Winter 2017/2018.",
        NOV_2017,
        "2017-12",
        "2018-02",
        "Winter 2017/2018",
    ),
    (
        "I interned at Uber in summer 2017, and I would love to join you in Summer 2018.",
        NOV_2017,
        "2018-06",
        "2018-08",
        "Summer 2018",
    ),
    (
        "I graduated in May 2016 and want an internship from January to April 2018.",
        NOV_2017,
        "2018-01",
        "2018-04",
        "January to April 2018",
    ),
    ("Period of internship: Jun-Sep 2018", NOV_2017, "2018-06", "2018-09", "Jun-Sep 2018"),
    (
        "Available: 2018 summer? No: Summer 2018 exactly.",
        NOV_2017,
        "2018-06",
        "2018-08",
        "Summer 2018",
    ),
]


@pytest.mark.parametrize(("text", "sent", "start", "end", "phrase"), CASES)
def test_period(text, sent, start, end, phrase):
    period = find_period(text, sent)
    assert period is not None, text
    assert (period.start, period.end, period.text) == (start, end, phrase)


NO_PERIOD = [
    ("Last summer I interned at Google.", NOV_2017),
    ("In Summer 2016 I worked at IBM.", NOV_2017),
    ("I spent the past winter at a startup.", NOV_2017),
    ("No dates here, just my resume.", NOV_2017),
    ("I may be available.", NOV_2017),
    ("I am interested in a summer internship.", None),  # no Date header: no guess
    ("Jan–Mar would be ideal.", None),
    ("My thesis is due in March.", NOV_2017),
    ("I can commit 3 to 4 months.", NOV_2017),
    ("I previously did an internship in Spring 2017.", NOV_2017),
    ("Two years ago, in summer 2015, I was an intern.", NOV_2017),
    ("I will graduate in May 2019.", NOV_2017),
]


@pytest.mark.parametrize(("text", "sent"), NO_PERIOD)
def test_no_period(text, sent):
    assert find_period(text, sent) is None
