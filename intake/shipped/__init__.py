"""Package data: the checkout's top-level rules/, templates/ and data/ are installed here
(see [tool.setuptools] in pyproject.toml); intake.resources finds them."""
