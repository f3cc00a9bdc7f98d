"""Static files of the clinician page (a package only so that its files ship in the wheel)."""
