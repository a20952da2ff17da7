"""Plans: services, content, plan files, budget check, documents, decided insatser."""
