"""PDFs made by the tests with fpdf2: newspaper clippings in one or two columns, with running
heads, page numbers, words hyphenated across line ends and a PressReader-style footer; and a
"scanned" page that is only an image (no text layer).

Example:
    >>> clipping_pdf(tmp_path / "clip.pdf", columns=2)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

OUTLET = "National Post"
HEADLINE = "LAST ISIL OUTPOST IN SYRIA UNDER U.S.-BACKED ATTACK"
BYLINE = "- Rukmini Callimachi"
RUNNING_HEAD = "NATIONAL POST, WEDNESDAY, DECEMBER 12, 2018"
PARAGRAPHS = [
    "The last vestige of Islamic State territory in Syria came under attack, as members of "
    "a U.S.-backed coalition said Tuesday that they had begun a final push to oust the "
    "militants from Hajin, the remaining sliver of territory under the group's control.",
    "The assault is the final chapter of a war that began more than four years ago after "
    "the Islamic State group seized enormous tracts of land in Iraq and Syria and declared "
    "a caliphate.",
    "The Syrian Democratic Forces, the Kurdish-led militia that has been fighting the "
    "Islamic State in Syria with the United States and its allies, said in a statement that "
    "its forces had launched an offensive on the area from four sides Monday evening.",
    "The Syrian Democratic Forces is preparing for a slog: between two and three months, "
    "according to one senior official with the militia.",
    '"We expect a long and hard fight," said Col. Sean Ryan, a spokesman for the U.S.-led '
    'military coalition in Baghdad. "These are the diehard fighters with nowhere else to go."',
    "In its remaining slip of land, the Islamic State has dug tunnels. Its fighters, aerial "
    "surveillance indicates, have mined the circumference of their last redoubt, laying "
    "explosive devices on the roads leading into the area.",
    "Even if it is defeated in Hajin, however, the Islamic State is likely to remain a "
    "powerful terrorist force, with sleeper cells across the provinces it once governed.",
]


def wrap_hyphenated(text: str, width: int) -> list[str]:
    """Greedy wrap at ``width`` characters, splitting a long word that does not fit with a
    hyphen at the line end, as newspaper columns do."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        room = width - len(line) - (1 if line else 0)
        if len(word) <= room:
            line = f"{line} {word}" if line else word
            continue
        if len(word) >= 8 and room >= 4 and word[: room - 1].isalpha():
            cut = room - 1
            lines.append(f"{line} {word[:cut]}-" if line else f"{word[:cut]}-")
            line = word[cut:]
            continue
        lines.append(line)
        line = word
    if line:
        lines.append(line)
    return lines


def clipping_pdf(path: Path, *, columns: int = 2, width: int = 44) -> list[str]:
    """Write a clipping of the seed story; returns the body lines as laid out."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    lines: list[str] = []
    for para in PARAGRAPHS:
        lines.extend(wrap_hyphenated(para, width if columns == 2 else width * 2))
        lines.append("")  # a blank line between paragraphs
    page_no = 0
    col_x = [12.0, 108.0] if columns == 2 else [12.0]
    line_h = 4.6
    top, bottom = 52.0, 270.0

    def new_page() -> None:
        nonlocal page_no
        page_no += 1
        pdf.add_page()
        pdf.set_font("Helvetica", size=7)
        pdf.text(12, 9, RUNNING_HEAD)
        pdf.text(190, 9, f"A{6 + page_no}")
        pdf.text(104, 288, str(page_no))

    new_page()
    pdf.set_font("Helvetica", size=11)
    pdf.text(12, 22, OUTLET)
    pdf.set_font("Helvetica", "B", 15)
    pdf.text(12, 32, HEADLINE)
    pdf.set_font("Helvetica", size=10)
    pdf.text(12, 41, BYLINE)
    pdf.set_font("Times", size=10)
    col, y = 0, top
    # a short first page so that the story runs on to a second one
    page_bottom = bottom if columns == 1 else 120.0
    for text in lines:
        if y > page_bottom:
            col += 1
            y = top
            if col == len(col_x):
                new_page()
                pdf.set_font("Times", size=10)
                col, page_bottom = 0, bottom
                y = 20.0
        if text:
            pdf.text(col_x[col], y, text)
        y += line_h
    pdf.set_font("Helvetica", size=7)
    pdf.text(12, 278, "Newspapers in English")
    pdf.text(12, 282, "Newspapers from Canada")
    pdf.output(str(path))
    return [x for x in lines if x]


def scanned_pdf(path: Path) -> None:
    """Write a two-page PDF whose pages are images only (what a scanner makes)."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    pdf = FPDF(format="A4")
    for n in range(2):
        img = Image.new("L", (400, 560), 255)
        draw = ImageDraw.Draw(img)
        for row in range(40, 520, 14):
            draw.line((30, row, 370, row), fill=60, width=3)
        draw.text((30, 10), f"PAGE {n + 1}", fill=0)
        pdf.add_page()
        pdf.image(img, x=10, y=10, w=190)
    pdf.output(str(path))
