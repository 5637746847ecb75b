"""A doctor's day in the journal: from the work list to a signed, corrected note with a macro,
vital signs with their score, and a search that finds an inflected word."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_write_sign_correct_a_note_record_vitals_and_search(live_server, page, cast):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "treating_doctor")
    page.fill("input[name=password]", cast.PASSWORD)
    page.click("button[type=submit]")

    # The work list of the active department opens the patient's chart.
    page.locator("[data-testid=worklist-row] a", has_text="Karen Jensen").click()
    expect(page.locator("#overview")).to_be_visible()
    expect(page.locator("#panel-vitals")).to_contain_text("Ingen vitale værdier")

    # A note from a template; typing .cave inserts the CAVE from the chart.
    page.click("#patient-banner a[href$='/notes/']")
    page.select_option("#id_template", label="Indlæggelsesnotat")
    page.click("#note-new-form button[type=submit]")
    editor = page.locator("textarea[name=text]")
    expect(editor).to_have_value(re.compile("^Kontaktårsag:"))
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nPatienten har smerterne i brystet. .cave ")
    expect(editor).to_have_value(re.compile("CAVE: Penicillin \\(Udslæt og åndenød\\)"))
    # The template's hints are placeholders: signing with them is refused, with why.
    expect(page.locator("[data-testid=autosave-status]")).to_contain_text("Gemt", timeout=10000)
    page.click("#sign-note")
    expect(page.locator("body")).to_contain_text("«")
    expect(page.locator("#note h1")).to_have_count(0)
    editor = page.locator("textarea[name=text]")
    editor.fill(re.sub(r"«[^»]*»", "", editor.input_value()))
    expect(page.locator("[data-testid=autosave-status]")).to_contain_text("Gemt", timeout=10000)
    page.click("#sign-note")
    expect(page.locator("#note h1")).to_contain_text("Signeret")

    # Correct it: a second version, both kept, the difference shown.
    page.fill("#correct-form input[name=reason]", "Smerterne sidder i ryggen, ikke brystet")
    page.click("#correct-note")
    text = editor.input_value().replace("smerterne i brystet", "smerterne i ryggen")
    editor.fill(text)
    page.click("#sign-note")
    expect(page.locator("[data-testid=version-row]")).to_have_count(2)
    diff = page.locator("[data-testid=note-diff]")
    expect(diff.locator(".diff-removed")).to_contain_text("smerterne i brystet")
    expect(diff.locator(".diff-added")).to_contain_text("smerterne i ryggen")

    # Vital signs: the score is computed and coloured.
    page.click("#patient-banner a[href$='/vitals/']")
    for field, value in {
        "respiration_rate": "22",
        "spo2": "94",
        "systolic": "105",
        "diastolic": "60",
        "pulse": "112",
        "temperature": "38.4",
    }.items():
        page.fill(f"#vitals-form [name={field}]", value)
    page.check("#vitals-form input[name=consciousness][value=A]")  # assessed, never assumed
    page.click("#save-vitals")
    score = page.locator("[data-testid=news2-score]").first
    expect(score).to_have_text("7")
    expect(score).to_have_class(re.compile("news2-high"))

    # Search the journal for another form of the word.
    page.click("#patient-banner a[href$='/notes/']")
    page.fill("#journal-q", "smerte")
    page.press("#journal-q", "Enter")
    hits = page.locator("[data-testid=journal-hit]")
    expect(hits).to_have_count(1)
    expect(hits.locator("mark").first).to_have_text(re.compile("smerterne", re.IGNORECASE))
