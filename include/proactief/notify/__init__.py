"""Telling citizens what the city granted them: templates in plain Dutch, and the channels that carry them.

One :class:`~proactief.notify.model.Notice` is one message to one person on one channel; it lists every benefit
(:class:`~proactief.notify.model.BenefitLine`) that person got in the period, so several grants make one
combined letter ("wat de stad u toekent"), not four.
"""
