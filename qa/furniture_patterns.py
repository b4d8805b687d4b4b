"""Word lists and patterns of :mod:`qa.furniture`: the one place for them.

Each list is a convention that news sites share (picture agencies, the verbs of calls to
action, newsroom labels for notes and sign-offs), not a phrase taken from an article; the
comment above each says why it is general. The compiled patterns below them are built from
the lists and from the shapes of furniture lines (a dateline ending in a dash, a credit
"Name/Agency", a video's running time).
"""

from __future__ import annotations

import re

#: Picture agencies and wire services that sign photo credits. Captions on every news site
#: end with "Photographer/Agency"; the agencies are few and the same everywhere.
CREDIT_AGENCIES = (
    "Getty Images",
    "Getty",
    "AP Photo",
    "AP",
    "Associated Press",
    "Reuters",
    "AFP",
    "EPA",
    "EPA-EFE",
    "Shutterstock",
    "Alamy",
    "iStock",
    "Pool",
    "Bloomberg",
    "NurPhoto",
    "SOPA",
    "Anadolu",
    "Xinhua",
    "PA",
    "PA Images",
    "PA Wire",
    "Zuma",
    "ZUMA Press",
    "Sipa",
    "Imagn",
    "dpa",
    "WireImage",
    "Corbis",
)
#: Words that start a call to action. Sites use the same few verbs for newsletter, share and
#: related-story prompts; as the first words of a sentence they are imperatives, which news
#: prose outside quotation marks almost never uses.
PROMPT_OPENERS = (
    r"sign\s+up\b",
    r"subscribe\b",
    r"click\s+(?:here|to|on|the|below)\b",
    r"tap\s+here\b",
    r"read\s+more\b",
    r"read\s+next\b",
    r"read\s+the\s+(?:full|latest)\b",
    r"read\s*:",
    r"related\s*:",
    r"related\s+(?:stories|articles|coverage|content|links?|reading)\b",
    r"see\s+also\b",
    r"see\s+more\b",
    r"more\s+from\b",
    r"more\s*:",
    r"also\s+read\b",
    r"don[’']t\s+miss\b",
    r"recommended\s*:",
    r"trending\s*:",
    r"listen\s*:",
    r"watch\s*:",
    r"watch\s+(?:the|our|this)\s+(?:full\s+)?(?:video|clip|livestream|stream|show)\b",
    r"watch\s+(?:live|now|more)\b",
    r"video\s*:",
    r"photos?\s*:",
    r"gallery\s*:",
    r"keep\s+refreshing\b",
    r"want\s+more\?",
    r"follow\s+(?:us|along|our|live)\b",
    r"like\s+us\s+on\b",
    r"join\s+(?:us|our|the\s+conversation)\b",
    r"share\s+(?:this|on|your)\b",
    r"download\s+(?:the|our)\b",
    r"support\s+(?:local\s+)?(?:news|journalism)\b",
    r"become\s+a\s+(?:subscriber|member)\b",
    r"stay\s+in\s+the\s+conversation\b",
    r"catch\s+up\s+on\b",
    r"advertisement\b",
    r"sponsored\s+content\b",
    r"story\s+continues\b",
    r"skip\s+(?:ad|advertisement)\b",
    r"consider\s+(?:supporting|subscribing)\b",
    r"(?:read|see|watch|listen\s+to|find)\b[^.!?]{0,100}\bhere[.!]?$",
)
#: Openings of editors' notes and update stamps: the standard labels newsrooms put on them.
NOTE_OPENERS = (
    r"editor[’']?s[’']?\s+note\b",
    r"clarification\s*:",
    r"correction\s*:",
    r"update\s*:",
    r"updated\s*:",
    r"last\s+updated\b",
    r"originally\s+published\b",
    r"this\s+(?:story|article|page|post|report)\s+(?:has\s+been|was|is\s+being)\s+"
    r"(?:updated|corrected|originally|first|published)",
    r"warning\s*:\s*this\s+(?:video|story|article|image)",
)
#: Lines that credit a story to reporters or wires ("Contributing: ...", "From staff and wire
#: reports", Reuters' "(Reporting by ...; Editing by ...)"): standard sign-offs.
SIGNOFF_OPENERS = (
    r"contributing\s*(?:reporters?|writers?)?\s*:",
    r"compiled\s+by\b",
    r"from\s+(?:staff|wire|the\s+associated\s+press|[\w ]{0,40}\s+and\s+wire)"
    r"\s*(?:reports|reporting)?\b",
    r"\(?\s*(?:additional\s+)?reporting\s+by\b",
    r"\(?\s*writing\s+by\b",
    r"\(?\s*editing\s+by\b",
    r"[\w .,'’;-]{0,80}\bcontributed\s+(?:to\s+)?this\s+(?:report|story|article)\b",
    r"this\s+(?:report|story|article)\s+(?:includes|contains|uses)\s+(?:information|reporting|"
    r"material)\s+from\b",
)
#: Words that name a photo credit line: "Photo: ...", "Image credit: ...", "Courtesy ...".
CREDIT_LABELS = r"(?:photo(?:graph)?s?|image|picture|illustration|graphic|video|credit|courtesy)"
#: Words of a reporter's contact line or tagline (with an e-mail address or a handle).
CONTACT_WORDS = (
    r"\b(?:reporter|correspondent|columnist|writer|editor|covers|e-?mailed|reached)\b|"
    r"\bon\s+(?:twitter|x|instagram|facebook|tiktok|threads|bluesky)\b"
)
#: Short words that stay lower case in a title-cased heading (Chicago style and its kin).
TITLE_SMALL_WORDS = frozenset(
    "a an the and but or nor for so yet of in on at to by up as from with into onto over "
    "vs vs. via per than off out is are be".split()
)
#: Function words left out when asking whether an answer shares words with its question.
STOPWORDS = frozenset(
    """what which who whom whose when where why how does did do is are was were will would
    could should can the and for with from that this these those about into over after
    before their there they them have has had been being your you more most some than then
    also just like says said""".split()
)

AGENCY = "|".join(re.escape(a) for a in sorted(CREDIT_AGENCIES, key=len, reverse=True))
PROMPT = re.compile(r"^[^\w“‘\"'(]*(?:" + "|".join(PROMPT_OPENERS) + ")", re.I)
NOTE = re.compile(r"^[^\w(]*\(?(?:" + "|".join(NOTE_OPENERS) + ")", re.I)
SIGNOFF = re.compile(r"^(?:" + "|".join(SIGNOFF_OPENERS) + ")", re.I)
NEWSLETTER = re.compile(
    r"\bnewsletters?\b.*\b(?:sign\s+up|subscribe|inbox|delivered)\b|"
    r"\b(?:sign\s+up|subscribe)\b.*\bnewsletters?\b|\bsign\s+up\s+here\b",
    re.I,
)
TERMINAL = re.compile(r"(?:[.!?…]|\.\.\.)[\"'”’)\]]*$")
CONTINUES = re.compile(r"[:;,]$")
BULLET = re.compile(r"^(?:[-–—−•*·►▶■●○◦»>+]|\d{1,3}[.)]\s|[a-z][.)]\s)")
SEPARATOR = re.compile(r"^[\W_]{3,}$")
NAME = r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|de|van|von|da|del|la|bin|al)){0,4}"
# "– Name", "— Name, Outlet", "− Name, Name and Name": a reporter's sign-off in a live blog
DASH_BYLINE = re.compile(
    r"^[-–—−]\s*(?:By\s+)?" + NAME + r"(?:\s*(?:,|/|\band\b|&)\s*" + NAME + r"){0,5}$"
)
BY_BYLINE = re.compile(
    r"^By\s+[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|and|de|van|von|da|del|la)){0,6}"
    r"(?:\s*(?:,|\||/)\s*[\w .&'’-]{2,40})?$"
)
DATELINE = re.compile(
    r"^[A-Z][\w.'’-]*(?:[ ,]+[A-Z][\w.'’-]*){0,5}\s*(?:\([\w .&/-]{1,30}\))?\s*[-–—−]+$"
)
# a wire service's name alone on its line credits the story to it
WIRE_ALONE = re.compile(
    r"^(?:\(?(?:" + AGENCY + r")\)?|The Associated Press|Staff and wire reports)$"
)
CREDIT_LINE = re.compile(
    r"^\(?\s*(?:" + CREDIT_LABELS + r"(?:\s+credit)?s?\s*(?::|by\b)|"
    r"(?:" + AGENCY + r")\s*(?:photo|file|/)|file\s+photo\b)",
    re.I,
)
# A credit fragment: "Name/Agency", "Name/AFP/Getty Images", "Getty Images", "The Tampa
# Tribune" (an outlet's name, title-cased, no sentence punctuation).
CAP = r"[A-Z][\w'’.&-]*"
_CREDIT_WORD = r"(?:" + CAP + r"|via|for|of|and|the|de|van|von|da)"
# words joined by spaces or slashes, never run together (so a long word in capitals cannot be
# split in many ways, which would make a failing match slow)
CREDIT_TAIL = re.compile(_CREDIT_WORD + r"(?:(?:\s*/\s*|\s+)" + _CREDIT_WORD + r"){0,9}/?")
PAREN_CREDIT = re.compile(
    r"\((?=[^()\n]{2,160}\))(?:[^()\n]{0,80}?(?:\b" + CREDIT_LABELS + r"\s*(?:credit|by\b|:)|"
    r"\bcredit\s*:|\bcourtesy\b|\bfile\s+photo\b|/\s*(?:" + AGENCY + r")\b|"
    r"\b(?:" + AGENCY + r")\s*(?:photo\b|/)|\bgetty\s+images\b)[^()\n]{0,80})\)",
    re.I,
)
AGENCY_WORD = re.compile(r"\b(?:" + AGENCY + r")\b")
# a gallery caption run into the next: "... Queen of England. AFP/Getty Images King George ..."
MID_CREDIT = re.compile(
    r"(?:^|[.!?][\"'”’)]?\s+)[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,3}"
    r"(?:/[A-Z][\w'’. -]{0,30}?)?/(?:Getty Images|Shutterstock|Reuters|AFP|AP)(?:/\S+)?"
    r"(?=\s+[A-Z“\"‘']|$)"
)
COPYRIGHT = re.compile(r"^(?:©|\(c\)\s|copyright\s+(?:©\s*)?\d{4})", re.I)
VIDEO = re.compile(
    r"\b\d{1,2}:\d{2}(?::\d{2})?\s*[-–—]\s*Source:\s*\S+|^(?:video|watch)\b.{0,200}\b\d{1,2}:\d{2}$",
    re.I,
)
# "Label:Linked headline": the label of a related-story link run into the link's text (the
# space between them was markup); the link reads as a headline of three words or more
GLUED_LINK = re.compile(
    r"^(?P<label>[^\n:]{2,80}?)\??:(?=(?:[A-Z][a-z]|[A-Z]{2,}\s|[“\"‘'][A-Z])\S*(?:\s+\S+){2})"
)
SPACED_LABEL = re.compile(r"^([^\n:]{2,80}?)\??:\s+\S")
HANDLE = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.]+|(?<![\w@])@\w{2,}|\(\d{3}\)\s*\d{3}-\d{4}|\b\d{3}-\d{3}-\d{4}\b"
)
CONTACT = re.compile(CONTACT_WORDS, re.I)
CONTACT_OPENER = re.compile(r"^(?:contact|reach|follow)\b", re.I)
# an address alone, or "Email: ...": a reporter's when it ends the article, but a shop's or a
# charity's in a listing, so only in the article's tail
ADDRESS_ALONE = re.compile(
    r"^(?:(?:e-?mail|twitter|x)\s*:\s*)?(?:[\w.+-]+@[\w-]+\.[\w.]+|@\w{2,})$", re.I
)
BIO = re.compile(
    r"^[A-Z][\w'’.-]+(?:\s+[A-Z][\w'’.-]+){1,3}\s+(?:is|was)\s+(?:a|an|the|our)?\s*"
    r"[\w ,'’-]{0,60}?\b(?:reporter|correspondent|editor|writer|columnist|contributor|"
    r"producer|journalist)\b"
)
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
DATE_LINE = re.compile(
    r"^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s*)?(?:" + MONTH + r"\s+\d{1,2}"
    r"(?:st|nd|rd|th)?|\d{1,2}\s+" + MONTH + r")?,?\s*(?:\d{4})?$",
    re.I,
)
WORD = re.compile(r"[\w'’.-]+")
#: Words a heading does not end on; a line that does was cut in mid-sentence.
DANGLING = frozenset("a an the and or of that with".split())
OPEN_QUOTES = "“‘\"'"
NONBLANK = re.compile(r"\S(?:.*\S)?")
