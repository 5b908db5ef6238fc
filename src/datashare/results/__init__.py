"""Share results (step 5): a researcher sends a draft product before release; the scanner
checks its tables; a data steward reviews it for disclosure and clears it, or asks for changes."""
