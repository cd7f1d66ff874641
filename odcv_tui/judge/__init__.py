"""Judges: LLM judge panel and self-evaluation (`panel`, `llm_judge`), and the deterministic
integrity detector (`integrity`). Headless: imports core, storage and llm only, never textual."""
