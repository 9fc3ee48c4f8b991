"""Which language a mention is written in, as far as the sentiment models need to know.

Both models read English only. A Spanish review scored by them lands on
"neutral" because it knows none of its words, which would hide it among the
questions; so a text in another language is marked with that language and
left unscored. This is a check, not a translator: it counts the function
words ("de", "que", "und", "nicht", "les", "não"...) of the languages brands
most often get besides English, and calls a text foreign only when at least
two different function words of another language outnumber English's. A text with too few
of them (a two-word title, a list of product names) stays English: when it
is unsure, it scores, since an unscored complaint is worse than a poorly
scored one. Texts mostly in a non-Latin script are named by that script.
Measured on the Trustpilot reviews and tweets in ../shared: see README.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Sequence

ENGLISH = "en"
UNDETERMINED = "und"

# The most frequent function words of each language, leaving out any that is
# also an English word ("a", "in", "me", "no", "die", "son", "men"...).
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and of to is it that was for you with this are have not but they be at on my your his her from "
        "we our there their what when will would can could has had been were which who how an if or so do does "
        "did just very all about after get got because than then them these those its it's i'm don't can't "
        "a i in on me no so do as by up out".split()
    ),
    "es": frozenset(
        "de el la los las del que y en un una por para con es muy pero mi mis su sus lo se le les ya porque "
        "como más mas está esta este esto fue han hay sin también tambien todo nada muy bien gracias "
        "servicio cuando donde usted ustedes nos yo tengo puedo dinero cuenta aplicación aplicacion".split()
    ),
    "pt": frozenset(
        "de os um uma da dos das que não nao em na nos nas com para por é muito mas meu minha seu sua "
        "foi são sao está esta isso este essa ele ela eles obrigado obrigada também tambem quando onde você "
        "voce serviço servico ainda".split()
    ),
    "de": frozenset(
        "der das und ist nicht ich sie es ein eine einen den des mit auf für fur von zu zum zur "
        "auch sich wir ihr sehr aber noch nur wie bei nach kein keine wurde wird schon mein meine "
        "immer hat habe haben dass oder wenn über uber bestellung kunden".split()
    ),
    "fr": frozenset(
        "le les des du une et est pas je vous il elle nous ils sur avec pour dans très tres mais mon ma mes "
        "ce cette sont été ete qui que ne au aux leur votre vos jamais toujours commande merci "
        "avoir fait rien".split()
    ),
    "it": frozenset(
        "il lo gli della delle dei che non è sono per con una uno del nel nella ma molto anche mio mia suo "
        "sua questo questa come più perché perche ancora sempre servizio grazie ordine".split()
    ),
    "nl": frozenset(
        "de het een van en niet ik je dat voor zijn maar ook nog wel geen heb hebben bij naar mijn "
        "dit deze wordt werd al erg heel bestelling klantenservice".split()
    ),
}
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# Another language must have this many of its function words, and more than English has.
MIN_FOREIGN_WORDS = 2
# A text whose letters are mostly outside the Latin script is not English, whatever its words.
NON_LATIN_SHARE = 0.5

_SCRIPT_NAMES = {"CYRILLIC": "Cyrl", "ARABIC": "Arab", "HEBREW": "Hebr", "GREEK": "Grek", "CJK": "Hani",
                 "HIRAGANA": "Jpan", "KATAKANA": "Jpan", "HANGUL": "Kore", "THAI": "Thai", "DEVANAGARI": "Deva"}
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "pt": "Portuguese", "de": "German", "fr": "French",
                  "it": "Italian", "nl": "Dutch", "und": "an undetermined language",
                  **{f"und-{code}": f"{name.title()} script" for name, code in _SCRIPT_NAMES.items()}}
LANGUAGE_NAMES.update({"und-Hani": "Chinese script", "und-Jpan": "Japanese script", "und-Kore": "Korean script"})


# Each function word with the languages it belongs to: one look-up a word.
_LANGUAGES_OF: dict[str, tuple[str, ...]] = {}
for _language, _words in _FUNCTION_WORDS.items():
    for _w in _words:
        _LANGUAGES_OF[_w] = _LANGUAGES_OF.get(_w, ()) + (_language,)
_NON_LATIN = re.compile(r"[^\x00-\u024f]")


def _script(text: str) -> str | None:
    """The non-Latin script most of the letters are in, or None when they are mostly Latin (or there are none)."""
    other: dict[str, int] = {}
    for c in _NON_LATIN.findall(text):
        code = _SCRIPT_NAMES.get(unicodedata.name(c, "").split(" ")[0]) if c.isalpha() else None
        if code:
            other[code] = other.get(code, 0) + 1
    if not other:
        return None
    letters = sum(1 for c in text if c.isalpha())
    if sum(other.values()) < NON_LATIN_SHARE * letters:
        return None
    return max(other, key=other.__getitem__)


def text_language(text: str, words: Sequence[str] | None = None) -> str:
    """'en', or the code of the language (or 'und-<script>') the text is clearly written in.

    `words`: the text's lower-cased words where the caller has them already (the learned model's tokens).
    """
    text = text or ""
    script = None if text.isascii() else _script(text)
    if script:
        return f"und-{script}"
    counts: dict[str, int] = {}
    # Distinct words: "La La La" is one Spanish word, not three.
    for word in set(_WORD.findall(text.lower().replace("’", "'")) if words is None else words):
        for language in _LANGUAGES_OF.get(word, ()):
            counts[language] = counts.get(language, 0) + 1
    english = counts.pop(ENGLISH, 0)
    if not counts:
        return ENGLISH
    other = max(counts, key=counts.__getitem__)
    if counts[other] >= MIN_FOREIGN_WORDS and counts[other] > english:
        return other
    return ENGLISH


def readable_language(source_language: str | None, text: str, words: Sequence[str] | None = None) -> str:
    """The language to score the text as: the source's own word where it gives one, else the check above."""
    given = (source_language or "").strip().lower()
    if given and given != UNDETERMINED:
        return given.split("-")[0].split("_")[0]
    return text_language(text, words)


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)
