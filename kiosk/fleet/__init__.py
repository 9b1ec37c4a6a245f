"""Fleet configuration on the kiosk: signed documents from the county, applied safely.

The app's part (plain calls, no Kivy here):

* at start, ``kiosk.fleet.agent.startup_config(site_path)`` instead of ``load_config(site_path)``:
  the site file plus the fleet documents that last passed their health gate;
* then ``kiosk.fleet.agent.start_agent(cfg, site_path, Probes(...))`` (None when the site file
  names no fleet; in the demo profile pass ``repository_url``, ``trusted_root``, ``platform_url``
  and ``token`` of the embedded platform as keyword overrides), and ``agent.stop()`` on exit;
* ``Probes``: ``session_active()`` (a citizen is in session: never apply now),
  ``apply_config(cfg)`` (take this configuration; called from the agent's thread),
  ``ui_drawing()``, ``device_health()`` ({device: healthy}), ``outbox_backlog()``,
  ``paper_left_m()``. The agent sends the platform heartbeat with these figures.

Modules: ``document`` (format and what a document may set), ``trust`` (TUF refresh), ``agent``
(stage, apply, health gate, rollback, reports, heartbeat), ``push`` (MQTT), ``protocol`` (topics),
``storage`` (atomic files).
"""
