"""GitHub links: normalised to profile or repository, deduplicated, noise rejected."""

import pytest

from intake.extraction.links import find_in_text, github_links, normalise

CASES = [
    ("https://github.com/alice", "https://github.com/alice"),
    ("https://github.com/alice/", "https://github.com/alice"),
    ("http://www.github.com/Bob-Smith", "https://github.com/Bob-Smith"),
    ("github.com/alice/repo.git?tab=readme", "https://github.com/alice/repo"),
    ("HTTPS://GitHub.com/alice/nupic#readme", "https://github.com/alice/nupic"),
    ("https://github.com/alice/nupic/tree/master/src", "https://github.com/alice/nupic"),
    ("https://github.com/alice/nupic/blob/main/README.md", "https://github.com/alice/nupic"),
    ("https://github.com/alice?tab=repositories", "https://github.com/alice"),
    ("https://github.com/alice/my.dotted-repo_1", "https://github.com/alice/my.dotted-repo_1"),
    ("https://github.com/a", "https://github.com/a"),
    ("https://gist.github.com/alice/123abc", "https://gist.github.com/alice/123abc"),
    ("https://gist.github.com/alice/123abc#file-x-py", "https://gist.github.com/alice/123abc"),
    ("https://gist.github.com/5d3f8a9b", "https://gist.github.com/5d3f8a9b"),
    ("https://gist.github.com/alice", None),
    (
        "https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fgithub.com%2Fjdoe"
        "%2Fhtm-demo&data=05%7C01%7C&sdata=abc%3D&reserved=0",
        "https://github.com/jdoe/htm-demo",
    ),
    ("https://www.google.com/url?q=https://github.com/jdoe&sa=D", "https://github.com/jdoe"),
    (
        "https://urldefense.proofpoint.com/v2/url?u=https-3A__github.com_jdoe_nupic&d=DwMF",
        "https://github.com/jdoe/nupic",
    ),
    ("https://urldefense.com/v3/__https://github.com/jdoe__;!!abc$", "https://github.com/jdoe"),
    ("https://gitlab.com/dave", None),
    ("https://bitbucket.org/eve", None),
    ("https://github.com/orgs/numenta", None),
    ("https://github.com/settings/profile", None),
    ("https://github.com/marketplace", None),
    ("https://github.com/", None),
    ("https://github.com/-bad", None),
    ("https://github.com/bad--login", None),
    ("https://api.github.com/users/alice", None),
    ("https://alice.github.io/blog", None),
    ("mailto:alice@github.com", None),
    ("https://raw.githubusercontent.com/alice/x/main/a.py", None),
]


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_normalise(url, expected):
    assert normalise(url) == expected


TEXT_CASES = [
    ("My code: (https://github.com/carol).", ["https://github.com/carol"]),
    (
        "See github.com/carol, and github.com/dan!",
        ["https://github.com/carol", "https://github.com/dan"],
    ),
    ("repo at <https://github.com/carol/htm>", ["https://github.com/carol/htm"]),
    ("[GitHub](https://github.com/carol)", ["https://github.com/carol"]),
    ('"https://github.com/carol/x";', ["https://github.com/carol/x"]),
    ("GitHub: https://github.com/carol/x...", ["https://github.com/carol/x"]),
    ("email me at carol@github.com", []),
    ("I love github.com", []),
    ("see https://github.com/carol\nand https://github.com/carol/", ["https://github.com/carol"]),
    ("https://github.com/carol/*", ["https://github.com/carol"]),
    ("https://github.com/Carol and https://github.com/carol", ["https://github.com/Carol"]),
    ("https://github.com/José", []),
    ("my GitHub is @ada-l and my email ada@example.org", ["https://github.com/ada-l"]),
    ("GitHub: @ada-l.", ["https://github.com/ada-l"]),
    ("Github handle - adal", ["https://github.com/adal"]),
    ("GitHub username: adal\nThanks", ["https://github.com/adal"]),
    ("GitHub is where I keep my code", []),
    ("GitHub: available on request", []),
    ("write to ada@github.com", []),
    (
        "my snippet: https://gist.github.com/ada/0f3c9e21 (Python)",
        ["https://gist.github.com/ada/0f3c9e21"],
    ),
    (
        "Outlook wraps it:\n<https://github.com/some-long-login/a-rather-\nlong-repository-name>",
        ["https://github.com/some-long-login/a-rather-long-repository-name"],
    ),
    (
        "Here is the project I am proudest of, a simulator: https://github.com/some-long-login/"
        "a-rather-long-repositor\ny-name with tests.",
        ["https://github.com/some-long-login/a-rather-long-repository-name"],
    ),
    (
        "Profile: https://github.com/ada\nThanks for reading.",
        ["https://github.com/ada"],
    ),
    (
        "See https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fgithub.com%2Fbo"
        "&data=x&reserved=0 for code",
        ["https://github.com/bo"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), TEXT_CASES)
def test_find_in_text(text, expected):
    assert github_links(texts=[text]) == expected


def test_text_then_urls_deduplicated_in_order():
    links = github_links(
        texts=["profile: github.com/alice", "project https://github.com/alice/htm"],
        urls=["https://github.com/ALICE/", "https://github.com/bob", "https://gist.github.com/x/1"],
    )
    assert links == [
        "https://github.com/alice",
        "https://github.com/alice/htm",
        "https://github.com/bob",
    ]  # "gist.github.com/x/1" is no gist id


def test_find_in_text_keeps_order_and_duplicates():
    assert find_in_text("github.com/b github.com/a github.com/b") == [
        "https://github.com/b",
        "https://github.com/a",
        "https://github.com/b",
    ]
