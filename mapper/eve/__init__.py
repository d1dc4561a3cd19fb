"""The built-in EVE login (contract section 9): sign-in, characters, token custody, names."""
