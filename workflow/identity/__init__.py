"""Who is using finsam in the browser: people known by e-mail from the förbund files,
one-time sign-in links mailed through the outbox, and sessions kept as rows.

    people.py    a person and the förbund whose files name their e-mail (tenancy)
    signin.py    asking for a link (rate-limited, the same answer for every address),
                 and redeeming it once within its 15 minutes
    sessions.py  sessions: start (at a redeemed link, later other providers),
                 look up with idle and absolute expiry, end one or all

Secrets (link tokens, session ids) are 32 random bytes handed to the person and
kept here only as SHA-256, so a copy of the database signs nobody in. Every
instant comes from `app.clock`.
"""
