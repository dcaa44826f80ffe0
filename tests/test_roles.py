"""Document roles from names and text, never from the order of the attachments."""

from __future__ import annotations

import pytest

from intake.extraction import roles
from intake.extraction.roles import Candidate, assign

RESUME = (
    "Jane Doe\njane@uni.edu\n\nEducation\nUniversity of Michigan\n\nExperience\nLab\n\nSkills\nC++"
)
TRANSCRIPT = "Unofficial Transcript\nCumulative GPA 3.8\n" + "\n".join(
    f"CS {n}01 Course title {n} 4.0 A-" for n in range(1, 6)
)
RECOMMENDATION = (
    "To whom it may concern,\n\nIt is my pleasure to recommend Jane Doe, who was in my lab "
    "for two years. I recommend her without reservation.\n\nProf. A. Smith"
)
CERTIFICATE = "Coursera\nCertificate of Completion\nThis is to certify that Jane Doe has "
LETTER = "Dear Hiring Manager,\n\nI am writing to apply for the internship.\n\nSincerely,\nJane"


@pytest.mark.parametrize(
    ("documents", "expected"),
    [
        ([("transcript.pdf", TRANSCRIPT), ("JSmith_2017.pdf", RESUME)], ["transcript", "resume"]),
        ([("document.pdf", RECOMMENDATION), ("cv.pdf", RESUME)], ["recommendation", "resume"]),
        ([("cert.pdf", CERTIFICATE), ("file.pdf", RESUME)], ["certificate", "resume"]),
        (
            [("Cover Letter - Jane.docx", LETTER), ("CV_final(2).docx", "")],
            ["cover_letter", "resume"],
        ),
        ([("a.pdf", LETTER), ("b.pdf", RESUME)], ["cover_letter", "resume"]),
        ([("scan.pdf", ""), ("photo.pdf", "")], ["other", "other"]),  # assemble picks one
        ([("Resume_old.pdf", "Jane"), ("Resume_v2.pdf", RESUME)], ["resume", "resume"]),
        ([("Letter_of_Recommendation.pdf", "")], ["recommendation"]),
        ([("Arbeitszeugnis.pdf", "")], ["recommendation"]),
    ],
)
def test_roles(documents, expected):
    found = assign([Candidate(name, "pdf", text) for name, text in documents])
    assert found == expected


@pytest.mark.parametrize(
    ("resumes", "chosen"),
    [
        ([("Resume_v2.pdf", True), ("Resume_old.pdf", True)], 0),
        ([("cv.pdf", True), ("cv-2018.pdf", True)], 1),  # the later one
        ([("cv.pdf", True), ("cv-new.pdf", False)], 0),  # a readable one
        ([], None),
    ],
)
def test_which_of_several_resumes_is_the_resume(resumes, chosen):
    assert roles.pick(resumes) == chosen


def test_an_image_is_never_a_document_role():
    assert assign([Candidate("resume.png", "other", "")]) == [roles.OTHER]
