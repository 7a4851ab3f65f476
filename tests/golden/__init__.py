"""Golden tests: Portcullis's answers against the structure of Okta's recorded answers.

``okta_structures`` holds what Okta's public test suites record (key paths,
JSON types, formats, link names, ``hints.allow``); ``structure`` compares an
answer with it; the tests walk Portcullis to each status and compare.
"""
