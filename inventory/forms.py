from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.services.catalog import CatalogError, parse_row_labels, parse_seat_counts


class GenerateSeatsForm(forms.Form):
    rows = forms.CharField(
        label=_("Rows"),
        initial="A-Z",
        help_text=_("Row labels: a range (A-Z, AA-AD, 1-20) or a comma-separated list (A,B,C)."),
    )
    seats_per_row = forms.CharField(
        label=_("Seats per row"),
        initial="30",
        help_text=_("One number for every row, or one number per row (20,22,24,...)."),
    )
    replace = forms.BooleanField(
        label=_("Replace"), required=False, help_text=_("Delete the section's existing seats first.")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            data["row_labels"] = parse_row_labels(data["rows"])
            data["counts"] = parse_seat_counts(data["seats_per_row"], len(data["row_labels"]))
        except CatalogError as exc:
            raise forms.ValidationError(str(exc), code=exc.code) from exc
        return data


class JsonImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"), help_text=_("A .json file exported from this admin (format in docs/catalog-json.md).")
    )
