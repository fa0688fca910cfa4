"""The province plugin author's kit: the scaffold ``chelun plugins new`` writes, the sample data
of every hook, and the conformance checks ``chelun plugins check`` and the pytest plugin
(``chelun.testing``) run. docs/plugins.md is the guide."""
