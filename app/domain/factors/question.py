"""``question`` (provider OKTA): a security question from Okta's catalog.

The answer is kept only as a salted argon2id hash of its normalised form
(case and runs of spaces ignored); it is at least 4 characters and contains
neither the question nor a part of the login.
"""

from __future__ import annotations

from typing import Any

from app.domain.factors import EnrollmentError
from app.domain.passwords import login_parts, normalise_answer

MIN_ANSWER_LENGTH = 4

#: Okta's built-in question keys and texts, in Okta's order.
QUESTIONS: dict[str, str] = {
    "disliked_food": "What is the food you least liked as a child?",
    "name_of_first_plush_toy": "What is the name of your first stuffed animal?",
    "first_award": "What did you earn your first medal or award for?",
    "favorite_security_question": "What is your favorite security question?",
    "favorite_toy": "What is the toy/stuffed animal you liked the most as a kid?",
    "first_computer_game": "What was the first computer game you played?",
    "favorite_movie_quote": "What is your favorite movie quote?",
    "first_sports_team_mascot": "What was the mascot of the first sports team you played on?",
    "first_music_purchase": "What music album or song did you first purchase?",
    "favorite_art_piece": "What is your favorite piece of art?",
    "grandmother_favorite_desert": "What was your grandmother's favorite dessert?",
    "first_thing_cooked": "What was the first thing you learned to cook?",
    "childhood_dream_job": "What was your dream job as a child?",
    "first_kiss_location": "Where did you have your first kiss?",
    "place_where_significant_other_was_met": "Where did you meet your spouse/significant other?",
    "favorite_vacation_location": "Where did you go for your favorite vacation?",
    "new_years_two_thousand": "Where were you on New Year's Eve in the year 2000?",
    "favorite_speaker_actor": "Who is your favorite speaker/orator?",
    "favorite_book_movie_character": "Who is your favorite book/movie character?",
    "favorite_sports_player": "Who is your favorite sports player?",
}


def enroll_profile(profile: dict[str, Any], user_profile: dict[str, Any]) -> dict[str, Any]:
    """Validate question and answer; return the public profile (no answer)."""
    key = profile.get("question")
    if not isinstance(key, str) or key not in QUESTIONS:
        raise EnrollmentError("question: The security question is not one of the catalog's.")
    answer = profile.get("answer")
    normalised = normalise_answer(answer) if isinstance(answer, str) else ""
    if len(normalised) < MIN_ANSWER_LENGTH:
        raise EnrollmentError(
            f"answer: The security question answer must be at least {MIN_ANSWER_LENGTH} "
            "characters in length"
        )
    if normalise_answer(QUESTIONS[key]).rstrip("?") in normalised:
        raise EnrollmentError("answer: The answer must not contain the question.")
    if any(part in normalised for part in login_parts(str(user_profile.get("login", "")))):
        raise EnrollmentError("answer: The answer must not contain parts of the username.")
    return {"question": key, "questionText": QUESTIONS[key]}


def catalog() -> list[dict[str, str]]:
    return [{"question": key, "questionText": text} for key, text in QUESTIONS.items()]
