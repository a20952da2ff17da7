"""What finsam says to people and how it is sent (Swedish templates, transports).

Empty until the notifications issue: plan decisions are recorded as audit rows
today, and the outbox that turns them into messages comes next.
"""
