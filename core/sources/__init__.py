"""Reading the files users send (CSV in the usual encodings, XLSX/XLS/ODS) and recognising
what their columns hold (source profiles, mapping files): shared by every capability that takes
files in."""
