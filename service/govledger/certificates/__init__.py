"""Electronic licences and certificates (电子证照): issued by departments, verified by anyone."""
