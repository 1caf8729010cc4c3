"""The one exception type for problems with what a user gave us."""


class ECGInputError(ValueError):
    """A file or signal that cannot be used as a 12-lead ECG.

    The message is one sentence naming the input, what is wrong with it and what to do,
    so that the CLI and the dashboard can show it as it is.

    Examples
    --------
    >>> raise ECGInputError("upload.csv: lead V3 is missing; add a V3 column or export all 12 leads.")
    Traceback (most recent call last):
    ...
    mrm.errors.ECGInputError: upload.csv: lead V3 is missing; add a V3 column or export all 12 leads.
    """
