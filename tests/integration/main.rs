mod pki;
