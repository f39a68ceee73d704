"""Search-result snippets: the reader's words found as the index found them, marked, escaped."""

from __future__ import annotations

from app.search.snippets import SNIPPET_CHARS, WordFinder, excerpt, fold, highlight, opening


def marked(text: str, terms: list[str], exact: set[str] | None = None) -> str | None:
    found = excerpt(text, WordFinder(terms, exact or set()))
    return None if found is None else str(highlight(found))


def test_a_prefix_marks_the_whole_word_it_starts() -> None:
    assert marked("Knowledge Distillation shrinks models.", ["distil"]) == (
        "Knowledge <mark>Distillation</mark> shrinks models."
    )


def test_words_match_without_case_or_latin_diacritics() -> None:
    assert marked("Un Café, then CAFÉS.", ["cafe"]) == (
        "Un <mark>Café</mark>, then <mark>CAFÉS</mark>."
    )


def test_no_words_mark_nothing() -> None:
    assert marked("Kafka streams", []) is None


def test_accented_words_and_greek_final_sigma_match_as_the_index_matched_them() -> None:
    assert marked("Un Café, then cafe.", ["café"]) == (
        "Un <mark>Café</mark>, then <mark>cafe</mark>."
    )
    assert marked("Μια σαφής απάντηση", ["σαφής"]) == "Μια <mark>σαφής</mark> απάντηση"


def test_combining_marks_belong_to_their_word() -> None:
    assert marked("x\u0301kafka and kafka", ["kafka"]) == "x\u0301kafka and <mark>kafka</mark>"


def test_a_word_inside_another_word_is_not_a_match() -> None:
    assert marked("Kafka streams", ["afka"]) is None
    # Letters and digits make words, as in the tokenizer, for which "_" is a separator.
    assert marked("my_kafka", ["kafka"]) == "my_<mark>kafka</mark>"


def test_a_whole_word_term_does_not_mark_longer_words() -> None:
    assert marked("C and Cobol, c again", ["c"], {"c"}) == (
        "<mark>C</mark> and Cobol, <mark>c</mark> again"
    )


def test_a_long_text_is_cut_around_the_first_match() -> None:
    text = "early " * 40 + "Distillation shrinks models " + "late " * 60
    snippet = excerpt(text, WordFinder(["distil"]))
    assert snippet is not None
    assert snippet.startswith("…early") and snippet.endswith("…")
    assert "\x02Distillation\x03" in snippet
    assert len(snippet) <= SNIPPET_CHARS + 2
    assert snippet.index("Distillation") < 60  # the match leads, with a little context


def test_text_is_escaped_and_only_our_markers_become_marks() -> None:
    assert marked("<b>bold</b> & Kafka", ["kafka"]) == (
        "&lt;b&gt;bold&lt;/b&gt; &amp; <mark>Kafka</mark>"
    )


def test_newlines_become_spaces() -> None:
    assert marked("First line\nKafka on the second", ["kafka"]) == (
        "First line <mark>Kafka</mark> on the second"
    )


def test_folding_keeps_every_character_in_place() -> None:
    text = "İstanbul Ärger ÉCOLE Thế"
    assert len(fold(text)) == len(text)
    assert fold(text) == "istanbul arger ecole the"


def test_folding_keeps_the_length_of_every_character() -> None:
    everything = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000)
    assert len(fold(everything)) == len(everything)


def test_opening_is_the_start_of_the_text_cut_at_a_word() -> None:
    assert opening("Short text.") == "Short text."
    long = opening("word " * 100)
    assert long.endswith("word…") and len(long) <= SNIPPET_CHARS + 1
