"""Identity shared by every capability: driver codes, the identifiers that name a person or an
enterprise (resident ID numbers, credit codes, phones, plates, names) and the administrative
divisions that ID numbers and county codes refer to."""
