"""The yearly cycle: meeting dates, meetings, agenda, plans on meetings, kallelse, minutes
and justering, calendar, årshjul.
"""
