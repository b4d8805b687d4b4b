"""The Gradio chat UI of article-qa."""
