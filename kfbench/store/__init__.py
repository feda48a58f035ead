"""The run store: pair folders, their claims and owners, and pair ids."""
