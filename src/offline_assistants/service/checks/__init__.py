"""Request checks shared by the resources: the SDK's params TypedDicts walked with
JSON's rules (:mod:`.params`, :mod:`.param_types`, :mod:`.wire_params`), values in range
(:mod:`.validation`), tools and response formats (:mod:`.formats`), ``tool_resources``
and attachments (:mod:`.tool_resources`), tool outputs (:mod:`.tool_outputs`).

They run before anything is written, so a rejected call changes nothing; each failure
is an :class:`~offline_assistants.errors.InvalidRequestError` naming its parameter.
"""
