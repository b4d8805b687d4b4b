"""Tests of qa.furniture: page furniture is flagged, real sentences and quotes are not.

Every text here is written for the test: small articles of the shapes web extraction
produces (live blogs, captioned photo stories, explainers with question headings).
"""

from __future__ import annotations

import pytest

from qa.furniture import Furniture, classify_furniture, furniture_spans


def flagged(text: str) -> list[str]:
    """The flagged pieces of a text, as strings."""
    return [text[s:e] for s, e in furniture_spans(text)]


def kinds(text: str) -> dict[str, str]:
    """Flagged piece -> kind."""
    return {text[f.start : f.end]: f.kind for f in classify_furniture(text)}


def article(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


# -- an ordinary clean article: nothing past the header is furniture ----------------------------

CLEAN = article(
    "Council approves new bridge",
    "The city council voted on Tuesday to build a second bridge over the river, ending a "
    "decade of argument about traffic in the old town.",
    "It will cost £40m.",
    "Work starts in May.",
    '"This is a great day for the town," said the mayor, Ann Lee.',
    '"Why did it take so long?" asked one resident at the meeting.',
    "Opponents say the money would be better spent on buses. Will they appeal? They have "
    "until June to decide.",
)


def test_clean_article_has_no_furniture() -> None:
    assert furniture_spans(CLEAN) == []


def test_short_real_sentences_are_not_headings() -> None:
    text = article(
        "The storm reached the coast on Monday night, flooding hundreds of homes.",
        "Nobody was hurt.",
        "Schools will stay closed until Thursday, the council said in a statement.",
    )
    assert flagged(text) == []


def test_quoted_question_in_body_is_not_a_heading() -> None:
    text = article(
        "The minister faced hard questions from reporters after the vote on Wednesday.",
        "“What did you know about the contract?”",
        "She said she had learned of it only last week, from a newspaper report.",
    )
    assert flagged(text) == []


# -- headings -------------------------------------------------------------------------------


def test_heading_between_paragraphs() -> None:
    text = article(
        "Prices rose again in March, the statistics office said on Friday, led by food.",
        "Energy bills ease",
        "Gas and electricity prices fell for the second month in a row, the office said.",
    )
    assert kinds(text) == {"Energy bills ease": "heading"}


def test_sentence_case_live_blog_headings() -> None:
    text = article(
        "Five candidates took the stage on Wednesday for the third debate of the campaign.",
        "Smith and Jones clash over the budget deficit in the first hour of the debate",
        "The two rivals traded barbs over spending, with Smith calling the plan reckless.",
        "Garcia says she would end the trade war within a year",
        "Garcia said tariffs had raised prices for farmers and promised to negotiate.",
    )
    assert set(flagged(text)) == {
        "Smith and Jones clash over the budget deficit in the first hour of the debate",
        "Garcia says she would end the trade war within a year",
    }


def test_single_long_unpunctuated_sentence_is_not_a_heading() -> None:
    # a full stop lost once in a clean article is not a heading structure
    text = article(
        "The company reported record profits on Monday, beating forecasts.",
        "Analysts had expected a much weaker quarter because of the cold winter weather",
        "Shares rose 5% in early trading in London.",
    )
    assert flagged(text) == []


def test_a_list_is_not_a_run_of_headings() -> None:
    text = article(
        "These are the candidates who have qualified for the debate on Wednesday:",
        "Ann Smith",
        "Bob Jones",
        "Carla Garcia",
        "The debate starts at 9 p.m. and runs for two hours, the organisers said.",
    )
    assert flagged(text) == []


def test_dates_in_a_timeline_are_content() -> None:
    text = article(
        "The case has moved slowly through the courts since the arrest last spring.",
        "Thursday, June 3",
        "The defendant pleads not guilty to all of the charges in a short hearing.",
        "Friday, June 18",
        "A judge sets the trial date for the following January after a long hearing.",
    )
    assert flagged(text) == []


def test_a_figure_on_its_own_line_is_content() -> None:
    text = article(
        "The airport was the busiest in the world again last year, its operators said.",
        "61%",
        "That is how much its passenger numbers grew in 2021, after the pandemic year.",
    )
    assert flagged(text) == []


def test_line_broken_by_a_dropped_link_is_not_a_heading() -> None:
    text = article(
        "The champion took the title in a personal best time on Saturday night.",
        "Jamaican",
        "stretched her unbeaten record to 25 races as she won the 200m with ease.",
    )
    assert flagged(text) == []


def test_hard_wrapped_lines_are_not_headings() -> None:
    # a line without a blank line beside it, in a text of blank-line paragraphs, is part
    # of a paragraph
    text = (
        "The council met on Monday to discuss plans\n"
        "For the new bridge over the river, which will cost £40m.\n\n"
        "It was approved by a large majority of the members who were present."
    )
    assert flagged(text) == []


def test_heading_over_a_list_lead_in() -> None:
    text = article(
        "Michigan won the title on Monday night, its first since 1997, beating Washington.",
        "Odds for next season",
        "Betting odds to win next season's national championship, according to bookmakers:",
        "Michigan: +800",
        "Georgia: +350",
    )
    assert kinds(text) == {"Odds for next season": "heading"}


# -- question headings ------------------------------------------------------------------------


def test_question_heading_in_an_explainer() -> None:
    text = article(
        "Nevada will hold both a caucus and a primary in February, confusing many voters.",
        "What are Republicans saying about the dueling Nevada caucus and primary?",
        "State Republicans say the caucus is the only contest that awards delegates.",
        "When is the caucus?",
        "The caucus will be held on Feb. 8, two days after the primary.",
    )
    assert kinds(text) == {
        "What are Republicans saying about the dueling Nevada caucus and primary?":
            "question_heading",
        "When is the caucus?": "question_heading",
    }


def test_rhetorical_questions_in_narration_keep_a_lone_question_line() -> None:
    # the narrator asks questions in running text, so a lone question line is narration too
    text = article(
        "Is the worst over for the housing market? Economists are not so sure. Prices "
        "fell again in May, the third month in a row.",
        "So what comes next for buyers?",
        "Mortgage rates are expected to stay high through the summer, lenders said.",
    )
    assert flagged(text) == []


def test_lone_question_in_an_article_without_headings_is_narration() -> None:
    text = article(
        "The council will vote on the plan next month, officials said on Monday.",
        "So what happens now?",
        "The plan goes to a public consultation, which ends in June.",
    )
    assert flagged(text) == []


def test_lone_question_heading_in_an_article_with_headings() -> None:
    text = article(
        "The unit was formed in 1984 to handle the most dangerous border work, officials say.",
        "What is BORTAC?",
        "The Border Patrol Tactical Unit (BORTAC) is a special operations team.",
        "A supporting role",
        "In most incidents the unit works under the command of local police, officials say.",
    )
    assert kinds(text) == {"What is BORTAC?": "question_heading", "A supporting role": "heading"}


def test_question_that_opens_the_article_is_its_lede() -> None:
    text = article(
        "How many times have you wished you had a camera with you at the right moment?",
        "Phone makers think they have the answer, with cameras in every handset now sold.",
    )
    assert flagged(text) == []


# -- captions and credits ---------------------------------------------------------------------


def test_photo_credits() -> None:
    text = article(
        "Firefighters battled the blaze through the night, the fire service said on Sunday.",
        "(Photo by Jane Doe/Getty Images)",
        "Residents were allowed back into their homes by the afternoon, police said.",
        "Credit: AP",
        "Image: Jane Doe/Reuters",
    )
    assert set(flagged(text)) == {
        "(Photo by Jane Doe/Getty Images)", "Credit: AP", "Image: Jane Doe/Reuters",
    }


def test_caption_with_trailing_credit() -> None:
    caption = ("Residents clear debris from a damaged home in Wayne, Oklahoma, on Tuesday. "
               "Sue Smith/AP")
    text = article(
        "A tornado tore through the small town on Tuesday morning, officials said.",
        caption,
        "No injuries were reported, but dozens of homes were damaged.",
    )
    assert kinds(text) == {caption: "caption"}


def test_caption_credited_to_an_archive() -> None:
    caption = ("A swab advertisement from 1945. The swabs were first sold for baby care. "
               "Life Magazine")
    text = article(
        "The cotton swab was invented in the 1920s by a man watching his wife at work.",
        caption,
        "Early ads showed mothers cleaning their babies' ears with the swabs.",
    )
    assert kinds(text) == {caption: "caption"}


def test_credit_inside_a_real_sentence_is_left_alone() -> None:
    # an acronym in brackets is no credit, and the index flags whole sentences
    text = article(
        "The Palestinian Authority (PA) was exerting every effort to end the violence.",
        "Protesters blocked roads in several towns (AFP) and police restored order.",
    )
    assert flagged(text) == []


# -- bylines, datelines, contact lines --------------------------------------------------------


def test_live_blog_bylines_and_dateline() -> None:
    text = article(
        "Washington CNN —",
        "The House voted on Friday to keep the government open for another six weeks.",
        "– Maria Lopez",
        "Senate leaders said they would take up the bill before the weekend.",
        "− Tom Chen and Ana Ruiz",
    )
    assert kinds(text) == {
        "Washington CNN —": "dateline",
        "– Maria Lopez": "byline",
        "− Tom Chen and Ana Ruiz": "byline",
    }


def test_dashed_list_items_are_not_bylines() -> None:
    text = article(
        "The plan has three parts, the minister said on Monday:",
        "- Better access to legal advice by telephone",
        "- More informal hearings before court cases",
        "- Extra money for family courts",
    )
    assert flagged(text) == []


def test_reporter_contact_and_signoffs() -> None:
    text = article(
        "The school board approved the budget late on Tuesday after a long debate.",
        "Contributing: The Associated Press",
        "Contact reporter Sam Green at (302) 555-0123 or sgreen@example.com.",
        "Follow Sam Green on Twitter: @samgreen",
        "This story has been updated with additional details.",
    )
    assert set(kinds(text).values()) == {"credit", "contact", "note"}
    assert len(flagged(text)) == 4


# -- prompts ----------------------------------------------------------------------------------


def test_newsletter_and_read_more_prompts() -> None:
    text = article(
        "The central bank held rates at 5% on Thursday, as markets had expected.",
        "Sign up for our newsletter to get the latest business news in your inbox.",
        "Read more: Why the bank is in no hurry to cut",
        "Related: Five charts that explain inflation",
        "Click here to see the full statement.",
        "Watch: The governor explains the decision",
        "Officials said they would look again at rates in September.",
    )
    got = kinds(text)
    assert set(got.values()) == {"prompt"}
    assert len(got) == 5


def test_prompt_sentence_inside_a_paragraph() -> None:
    text = ("Polls close at 8 p.m. in most states. Keep refreshing this page for the latest "
            "updates.")
    assert flagged(text) == ["Keep refreshing this page for the latest updates."]


def test_glued_related_link() -> None:
    text = article(
        "Lawmakers returned to the capital on Monday with the budget still unsettled.",
        "Budget fight:Lawmakers miss deadline as talks stall over school funding",
        "The governor said she would not sign a bill that cut school funding.",
    )
    assert kinds(text) == {
        "Budget fight:Lawmakers miss deadline as talks stall over school funding": "prompt"
    }


def test_a_field_label_run_into_its_text_is_not_a_link() -> None:
    # the same label is written with a space elsewhere in the article: a field, not a link
    glued = "Background:West is a philosopher who has taught at several universities."
    text = article(
        "Several candidates outside the two big parties are running for president this year.",
        "Background: Stein is a physician who ran for president twice before.",
        glued,
    )
    assert flagged(text) == []


def test_imperative_like_words_in_real_sentences_are_not_prompts() -> None:
    text = article(
        "Like us, they did well in France and were unlucky not to win, the coach said.",
        "Subscribers to the service will pay more from April, the company said.",
        "He said he would sign up for the primary if the party asked him to.",
        "Watch where you step: the ice on the pavements is thick, police warned.",
    )
    assert flagged(text) == []


# -- video embeds, separators, editors' notes ---------------------------------------------------


def test_video_embed_and_separator() -> None:
    text = article(
        "The storm is expected to weaken as it moves inland over the weekend.",
        "Video Ad Feedback Storm batters the coast 02:41 - Source: CNN",
        "***",
        "Story continues below video.",
        "Power was restored to most homes by Sunday evening.",
    )
    assert set(kinds(text).values()) == {"video", "separator", "prompt"}


# -- the header block is left to qa.articles -----------------------------------------------------


def test_header_lines_are_left_to_articles() -> None:
    text = article(
        "National Post",
        "LAST OUTPOST UNDER ATTACK",
        "- Jane Reporter",
        "The last sliver of territory held by the group came under attack on Tuesday, "
        "officials said.",
    )
    assert flagged(text) == []


# -- the contract the index relies on --------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "x", "Sign up", "?", "—", "A\n\nB\n\nC"])
def test_degenerate_texts(text: str) -> None:
    spans = furniture_spans(text)
    assert isinstance(spans, list)
    assert all(0 <= s < e <= len(text) for s, e in spans)


def test_spans_are_sorted_disjoint_and_trimmed() -> None:
    text = article(
        "The council met on Monday to agree its budget for the coming year.  ",
        "  Sign up for our newsletter.  ",
        "Roads and bridges",
        "The roads budget rose by a tenth, the council said in a statement.",
        "– Jo Bloggs",
        "Follow along as we fact-check the speech",
    )
    spans = furniture_spans(text)
    assert spans == sorted(spans)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
    for s, e in spans:
        assert text[s:e] == text[s:e].strip()
    assert "Roads and bridges" in flagged(text)
    assert "Sign up for our newsletter." in flagged(text)


def test_classify_returns_typed_values() -> None:
    found = classify_furniture(article("Rain fell all day, officials said.", "Credit: AP"))
    assert found == [Furniture(36, 46, "credit")]


def test_lines_in_capitals_stay_fast() -> None:
    # a credit pattern that could split a word in capitals many ways made each such line
    # take a tenth of a second; 300 of them must not take minutes
    import time

    line = "This is a caption. " + " ".join(["ABCDEFGHIJ"] * 30) + " x"
    text = article("The council met on Monday to agree its budget for next year.", *[line] * 300)
    t0 = time.perf_counter()
    furniture_spans(text)
    assert time.perf_counter() - t0 < 5
