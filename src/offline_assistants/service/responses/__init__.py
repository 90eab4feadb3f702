"""The Responses and Conversations APIs, on the runs' machinery.

:mod:`.service` is ``responses.create`` and the rest of ``/v1/responses``; a request is
checked into a run's settings (:mod:`.request`, its tools :mod:`.tools`), its input
items parsed (:mod:`.input_items`) and placed on a conversation's thread
(:mod:`.placement`), and the run's events become the API's stream (:mod:`.events`,
kept for ``GET`` with ``stream`` by :mod:`.event_log` and :mod:`.recordings`); stored
responses read back through :mod:`.views` and :mod:`.items`. :mod:`.conversations` is
``/v1/conversations``, :mod:`.input_tokens` counts a request's input,
:mod:`.compaction` summarises a conversation into an opaque handle (:mod:`.sealed`).
"""
