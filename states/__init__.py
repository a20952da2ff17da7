"""Pure domain of finsam: workflow definitions, states, transitions, guards, roles.

Nothing here touches a database or any other finsam package, so the rules can be
reasoned about (and property-tested) on plain data.
"""
