"""Every place the dashboard relies on Streamlit internals, in one package, checked against the pinned Streamlit.

Streamlit is pinned (``requirements.txt``); an upgrade may change any of these
without notice. ``internals.check_internals`` lists what each one needs from
Streamlit and ``tests/test_streamlit_patches.py`` fails loudly, naming the
installed and the pinned version, when an upgrade changes it.

The patches, what internal each touches, and why:

``script_run_cost``
    Replaces ``streamlit.runtime.scriptrunner.script_runner._clean_problem_modules``
    (a module-level function, no arguments, that ``ScriptRunner`` calls by name
    after every script run) with one that only closes matplotlib figures. Why:
    Streamlit's version calls ``keras.backend.clear_session()`` after every view
    once Keras is imported, a full ``gc.collect`` over TensorFlow's objects that
    cost about 0.2 s of CPU per view under the interpreter lock and threw away
    Classify's compiled kernels. Also ``freeze_long_lived_objects`` (plain ``gc``,
    no Streamlit internal).

``warm_session``
    Speaks Streamlit's browser protocol without a browser: the websocket
    ``/_stcore/stream`` (subprotocol ``streamlit``), a ``BackMsg.rerun_script``
    (``page_name``, ``query_string``, ``widget_states``, ``context_info.timezone``
    / ``locale`` / ``url``) and ``ForwardMsg.script_finished`` with its
    ``FINISHED_EARLY_FOR_RERUN`` / ``FINISHED_WITH_COMPILE_ERROR`` statuses. Why:
    Streamlit runs app code only inside a session, so ``dashboard.launch`` opens
    one page at server start to start Classify's warm-up before any visitor.
"""
