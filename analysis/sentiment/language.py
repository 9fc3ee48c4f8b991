"""Which language a mention is written in: what the sentiment models read, and what the digest counts.

The learned model reads eight languages (LEARNED_LANGUAGES), VADER English
only; a text in a language its model does not read is marked with that
language and left unscored, never called neutral. The check, in order:
- a text mostly in a non-Latin script is named by py3langid (its model ships
  inside its wheel; Arabic, Hindi in Devanagari, Russian, Chinese...);
- a Latin-script text is foreign when at least two different function words
  of another language ("de", "que", "und", "nicht", "les", "não"...)
  outnumber English's: precise, and fast. Which language, where the words
  are shared ("le", "de", "en" are French and Spanish): py3langid among the
  languages whose function words it has;
- otherwise a text long enough to tell (MIN_LETTERS) is named by py3langid
  when it is sure (SURE), and romanised Hindi by its own function words
  ("hai", "nahi", "kya", "bhai"...), which no identifier knows.
When unsure it says English and the text is scored: an unscored complaint is
worse than a poorly scored one. Measured against the function-word check
alone on the shared files: see README.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any, Sequence

ENGLISH = "en"
UNDETERMINED = "und"
# What the learned model reads: the languages of the labelled data it learned from.
LEARNED_LANGUAGES = frozenset({"ar", "de", "en", "es", "fr", "hi", "it", "pt"})
# A Latin-script text needs this many letters before an identifier's word is taken over "English".
MIN_LETTERS = 20
# ...and the identifier must be this sure (its normalised probability; chosen on umsab val: 0.8 names 72% of the
# eight languages right against 69% at 0.9, and calls 99.9% of English tweets English at both).
SURE = 0.8

# The most frequent function words of each language, leaving out any that is also an English word ("die", "son",
# "men"...), but not the short function words English shares ("a", "no", "do", "me", "as", "on", "so"): they count
# for both, so a Portuguese post's "a", "no" and "do" do not outvote its "não" as English.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and of to is it that was for you with this are have not but they be at on my your his her from "
        "we our there their what when will would can could has had been were which who how an if or so do does "
        "did just very all about after get got because than then them these those its it's i'm don't can't "
        "a i in on me no so do as by up out".split()
    ),
    "es": frozenset(
        "de el la los las del al que y en un una por para con es muy pero mi mis su sus lo se le les ya porque "
        "como más mas está esta este esto fue han hay sin también tambien todo nada muy bien gracias "
        "servicio cuando donde usted ustedes nos yo tengo puedo dinero cuenta aplicación aplicacion a me no".split()
    ),
    "pt": frozenset(
        "de os um uma da dos das que não nao em na nos nas com para por é muito mas meu minha seu sua "
        "foi são sao está esta isso este essa ele ela eles obrigado obrigada também tambem quando onde você "
        "voce serviço servico ainda a as do me no".split()
    ),
    "de": frozenset(
        "der das und ist nicht ich sie es ein eine einen den des mit auf für fur von zu zum zur "
        "auch sich wir ihr sehr aber noch nur wie bei nach kein keine wurde wird schon mein meine "
        "immer hat habe haben dass oder wenn über uber bestellung kunden so".split()
    ),
    "fr": frozenset(
        "le les des du une et est pas je vous il elle nous ils sur avec pour dans très tres mais mon ma mes "
        "ce cette sont été ete qui que ne au aux leur votre vos jamais toujours commande merci "
        "avoir fait rien a me on".split()
    ),
    "it": frozenset(
        "il lo gli della delle dei che non è sono per con una uno del al nel nella ma molto anche mio mia suo "
        "sua questo questa come più perché perche ancora sempre servizio grazie ordine a me no".split()
    ),
    "nl": frozenset(
        "de het een van en niet ik je dat voor zijn maar ook nog wel geen heb hebben bij naar mijn "
        "dit deze wordt werd al erg heel bestelling klantenservice".split()
    ),
}
ENGLISH_FUNCTION_WORDS = _FUNCTION_WORDS["en"]
# Romanised Hindi (Hinglish): its function words, leaving out any that is also an English word ("to", "me",
# "hi", "par", "pe", "na"). Identifiers trained on Devanagari call such posts English.
HINGLISH_WORDS = frozenset(
    "hai hain nahi nahin nai kya kyu kyun kyon bhai yaar yr ki ke ka ko se mein mai tha thi hoga kar kr karo "
    "raha rahe rahi sab kuch koi ab jab tab apni apna mera meri tera teri ye yeh wo woh kaise kaun bahut bhot "
    "bohot accha acha achha ji haan gaya gayi diya liya hua hui wala wali abhi sirf lekin aur bhi toh hota hoti "
    "sakta sakte chahiye kyunki matlab phir fir dekh dekho bol bolo paisa paise kab kaha kahan".split())
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# Another language must have this many of its function words, and more than English has.
MIN_FOREIGN_WORDS = 2
# A text whose letters are mostly outside the Latin script is not English, whatever its words.
NON_LATIN_SHARE = 0.5

# The learned language a script most likely means when the identifier is unsure.
_SCRIPT_LANGUAGE = {"Arab": "ar", "Deva": "hi"}
_SCRIPT_NAMES = {"CYRILLIC": "Cyrl", "ARABIC": "Arab", "HEBREW": "Hebr", "GREEK": "Grek", "CJK": "Hani",
                 "HIRAGANA": "Jpan", "KATAKANA": "Jpan", "HANGUL": "Kore", "THAI": "Thai", "DEVANAGARI": "Deva"}
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "pt": "Portuguese", "de": "German", "fr": "French",
                  "it": "Italian", "nl": "Dutch", "ar": "Arabic", "hi": "Hindi", "ru": "Russian", "zh": "Chinese",
                  "ja": "Japanese", "ko": "Korean", "tr": "Turkish", "pl": "Polish", "sv": "Swedish", "da": "Danish",
                  "no": "Norwegian", "fi": "Finnish", "fa": "Persian", "ur": "Urdu", "he": "Hebrew", "el": "Greek",
                  "uk": "Ukrainian", "cs": "Czech", "ro": "Romanian", "hu": "Hungarian", "id": "Indonesian",
                  "und": "an undetermined language",
                  **{f"und-{code}": f"{name.title()} script" for name, code in _SCRIPT_NAMES.items()}}
LANGUAGE_NAMES.update({"und-Hani": "Chinese script", "und-Jpan": "Japanese script", "und-Kore": "Korean script"})


# Each function word with the languages it belongs to: one look-up a word.
_LANGUAGES_OF: dict[str, tuple[str, ...]] = {}
for _language, _words in _FUNCTION_WORDS.items():
    for _w in _words:
        _LANGUAGES_OF[_w] = _LANGUAGES_OF.get(_w, ()) + (_language,)
_RANK = {language: rank for rank, language in enumerate(_FUNCTION_WORDS)}  # ties: the learned languages first
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


@lru_cache(maxsize=1)
def _identifier() -> Any:
    """py3langid's identifier (its model is in its wheel), probabilities normalised: loaded once per process."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(text: str) -> tuple[str, float]:
    """py3langid's language for the text and how sure it is (0..1)."""
    code, probability = _identifier().classify(text)
    return str(code), float(probability)


def text_language(text: str, words: Sequence[str] | None = None) -> str:
    """'en', or the code of the language (or 'und-<script>') the text is clearly written in.

    `words`: the text's lower-cased words where the caller has them already (the learned model's tokens).
    """
    text = text or ""
    script = None if text.isascii() else _script(text)
    if script:
        code, probability = identify(text)
        if code not in LEARNED_LANGUAGES and probability < SURE and script in _SCRIPT_LANGUAGE:
            return _SCRIPT_LANGUAGE[script]  # a short Arabic post is not surely Persian: read it as Arabic
        return code if code in LANGUAGE_NAMES else f"und-{script}"
    distinct = set(_WORD.findall(text.lower().replace("’", "'")) if words is None else words)
    counts: dict[str, int] = {}  # distinct function words: "La La La" is one Spanish word, not three
    for word in distinct:
        for language in _LANGUAGES_OF.get(word, ()):
            counts[language] = counts.get(language, 0) + 1
    english = counts.pop(ENGLISH, 0)
    top = max(counts.values(), default=0)
    if top >= MIN_FOREIGN_WORDS and top > english:
        return _foreign_language(text, counts)
    hinglish = len(distinct & HINGLISH_WORDS)
    if hinglish >= MIN_FOREIGN_WORDS and hinglish > english:
        return "hi"
    if english >= MIN_FOREIGN_WORDS or sum(1 for c in text if c.isalpha()) < MIN_LETTERS:
        return ENGLISH  # clearly English, or too short to tell: scored as English
    code, probability = identify(text)
    return code if probability >= SURE else ENGLISH


def _foreign_language(text: str, counts: dict[str, int]) -> str:
    """Which language a text whose function words say it is foreign is in (`counts`: its distinct function words
    per language, English's left out).

    Function words say less well which language, as the short ones are shared ("le", "de", "en" are French and
    Spanish). So where a text has function words of two or more languages, py3langid names it among them, when
    it is sure or names one with the most; else the one with the most wins, a tie to the language listed first:
    the same text, the same name, in every process.
    """
    top = max(counts.values())
    if len(counts) > 1:  # only the function words of one language: nothing to ask
        found, probability = identify(text)
        if found in counts and (probability >= SURE or counts[found] == top):
            return found
    return min((code for code, n in counts.items() if n == top), key=_RANK.__getitem__)


def readable_language(source_language: str | None, text: str, words: Sequence[str] | None = None) -> str:
    """The language to score the text as: the source's own word where it gives one, else the check above."""
    given = (source_language or "").strip().lower()
    if given and given != UNDETERMINED:
        return given.split("-")[0].split("_")[0]
    return text_language(text, words)


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def clearly_english(words: Sequence[str]) -> bool:
    """Two or more distinct English function words among a text's words: the rule text_language calls English
    without asking the identifier, and the one that sends a text to the learned model's English head."""
    return len(ENGLISH_FUNCTION_WORDS.intersection(words)) >= MIN_FOREIGN_WORDS


def reads(model_family: str, code: str) -> bool:
    """Whether a model family reads text in this language: the learned model its eight, VADER English."""
    return code in LEARNED_LANGUAGES if model_family == "learned" else code == ENGLISH
