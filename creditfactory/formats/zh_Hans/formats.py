"""Amounts in Chinese lending documents group by thousands with commas (100,000.00 元);
Django's zh_Hans default groups nothing."""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
