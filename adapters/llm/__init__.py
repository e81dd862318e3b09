"""Language-model clients behind ``integration.llm.ChatClient``; ``openai`` is imported lazily."""
