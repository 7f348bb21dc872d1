import type { Context } from 'koa';

/** The languages MediConnect answers in. */
export type Locale = 'en' | 'fr';
export const LOCALES: readonly Locale[] = ['en', 'fr'];

/**
 * Every error code, in English and French: one place for both languages. The English text is the general
 * meaning of the code (an error usually says more, in English, where it is thrown); the French one replaces
 * the message when the caller reads French. Codes never change with the language.
 */
export const ERROR_MESSAGES: Record<string, Record<Locale, string>> = {
  ACCOUNT_INACTIVE: { en: 'This account is deactivated', fr: 'Ce compte est désactivé' },
  AE_TITLE_TAKEN: { en: 'This AE title is already registered', fr: 'Ce titre AE est déjà enregistré' },
  ALREADY_MARKED: { en: 'This frame is already a key image of the study', fr: 'Cette image est déjà une image clé de l’examen' },
  APPOINTMENT_IN_PAST: { en: 'This appointment has already started', fr: 'Ce rendez-vous a déjà commencé' },
  AUTHENTICATION_REQUIRED: { en: 'A bearer token is required', fr: 'Un jeton d’accès est requis' },
  BAD_REQUEST: { en: 'Bad request', fr: 'Requête incorrecte' },
  BEYOND_HORIZON: { en: 'Appointments cannot be booked that far ahead', fr: 'Les rendez-vous ne peuvent pas être pris si loin à l’avance' },
  CONCURRENT_UPDATE: {
    en: 'Another change happened at the same time: retry',
    fr: 'Une autre modification a eu lieu en même temps : réessayez',
  },
  CONFLICT: { en: 'This conflicts with existing data', fr: 'Cela entre en conflit avec des données existantes' },
  EMAIL_ALREADY_EXISTS: {
    en: 'This e-mail address is already used by another account',
    fr: 'Cette adresse e-mail est déjà utilisée par un autre compte',
  },
  FIELD_NOT_ALLOWED: { en: 'These fields may not be set here', fr: 'Ces champs ne peuvent pas être modifiés ici' },
  FORBIDDEN: { en: 'Your role is not allowed to perform this action', fr: 'Votre rôle ne permet pas cette action' },
  HOSPITAL_HAS_PATIENTS: {
    en: 'Patients are followed only by this hospital’s doctors',
    fr: 'Des patients ne sont suivis que par les médecins de cet hôpital',
  },
  HOSPITAL_NOT_EMPTY: { en: 'The hospital still has accounts', fr: 'L’hôpital a encore des comptes' },
  IMAGING_ERROR: { en: 'The imaging store failed', fr: 'Le stockage d’images a échoué' },
  IMAGING_REFUSED: { en: 'The imaging store refused the request', fr: 'Le stockage d’images a refusé la requête' },
  IMAGING_UNAVAILABLE: { en: 'The imaging store is unavailable', fr: 'Le stockage d’images est indisponible' },
  INTERNAL_ERROR: { en: 'An unexpected error occurred', fr: 'Une erreur inattendue est survenue' },
  INVALID_CREDENTIALS: { en: 'Wrong e-mail or password', fr: 'E-mail ou mot de passe incorrect' },
  INVALID_CURRENT_PASSWORD: { en: 'The current password is wrong', fr: 'Le mot de passe actuel est incorrect' },
  INVALID_DICOM: { en: 'Not a readable DICOM file', fr: 'Fichier DICOM illisible' },
  INVALID_DOCTOR: { en: 'Not an active doctor', fr: 'Ce médecin n’est pas actif' },
  INVALID_JSON: { en: 'The request body is not valid JSON', fr: 'Le corps de la requête n’est pas du JSON valide' },
  INVALID_PATH: { en: 'The request path is not valid', fr: 'Le chemin de la requête n’est pas valide' },
  INVALID_PATIENT: { en: 'Not an active patient', fr: 'Ce patient n’est pas actif' },
  INVALID_QUERY: { en: 'Invalid query', fr: 'Requête de recherche invalide' },
  INVALID_REFRESH_TOKEN: { en: 'The refresh token is not valid', fr: 'Le jeton de renouvellement n’est pas valide' },
  INVALID_STATUS: { en: 'Not possible in the appointment’s current status', fr: 'Impossible dans l’état actuel du rendez-vous' },
  INVALID_TOKEN: { en: 'The access token is not valid', fr: 'Le jeton d’accès n’est pas valide' },
  INVALID_ZIP: { en: 'The ZIP archive is corrupt or incomplete', fr: 'L’archive ZIP est corrompue ou incomplète' },
  LAST_DOCTOR: { en: 'This is the patient’s last doctor', fr: 'C’est le dernier médecin du patient' },
  MALFORMED: { en: 'Malformed DICOM file', fr: 'Fichier DICOM mal formé' },
  METHOD_NOT_ALLOWED: { en: 'This method is not allowed here', fr: 'Cette méthode n’est pas permise ici' },
  NOT_ACCEPTABLE: { en: 'No answer in the requested format', fr: 'Aucune réponse dans le format demandé' },
  NOT_A_FILE: { en: 'This part is not a file', fr: 'Cette partie n’est pas un fichier' },
  NOT_DICOM: { en: 'Not a DICOM file', fr: 'Ce n’est pas un fichier DICOM' },
  NOT_FOUND: { en: 'Not found', fr: 'Introuvable' },
  NOT_IMPLEMENTED: { en: 'Not implemented', fr: 'Non pris en charge' },
  NOT_IN_STUDY: { en: 'No such instance in this study', fr: 'Cette image n’appartient pas à cet examen' },
  NOT_STARTED: { en: 'The appointment has not started yet', fr: 'Le rendez-vous n’a pas encore commencé' },
  NO_DICOM_STORED: { en: 'No DICOM file was stored', fr: 'Aucun fichier DICOM n’a été enregistré' },
  NO_FILES: { en: 'The upload holds no file', fr: 'L’envoi ne contient aucun fichier' },
  OUTSIDE_AVAILABILITY: { en: 'The doctor is not available at that time', fr: 'Le médecin n’est pas disponible à cette heure' },
  PASSWORD_CHANGE_REQUIRED: { en: 'Change the default password first', fr: 'Changez d’abord le mot de passe par défaut' },
  PASSWORD_NOT_ACCEPTED: { en: 'This password is not accepted', fr: 'Ce mot de passe n’est pas accepté' },
  PATIENT_SHARED: {
    en: 'Doctors of another hospital still follow this patient',
    fr: 'Des médecins d’un autre hôpital suivent encore ce patient',
  },
  PAYLOAD_TOO_LARGE: { en: 'The request body is too large', fr: 'Le corps de la requête est trop volumineux' },
  PRECONDITION_FAILED: { en: 'The resource changed since you read it', fr: 'La ressource a changé depuis votre lecture' },
  REFRESH_TOKEN_EXPIRED: { en: 'The refresh token has expired', fr: 'Le jeton de renouvellement a expiré' },
  REFRESH_TOKEN_REUSED: {
    en: 'The refresh token was already used; log in again',
    fr: 'Le jeton de renouvellement a déjà servi ; reconnectez-vous',
  },
  S3_NOT_CONFIGURED: { en: 'Images are not stored in S3', fr: 'Les images ne sont pas stockées dans S3' },
  SEARCH_TOO_BROAD: { en: 'The search is too broad: add filters', fr: 'La recherche est trop large : ajoutez des filtres' },
  SERVICE_UNAVAILABLE: { en: 'The service is unavailable', fr: 'Le service est indisponible' },
  SESSION_REVOKED: { en: 'This session has ended; log in again', fr: 'Cette session est terminée ; reconnectez-vous' },
  SHARE_INVALID: { en: 'The share link has been revoked or has expired', fr: 'Le lien de partage a été révoqué ou a expiré' },
  SLOT_TAKEN: { en: 'The doctor already has an appointment at that time', fr: 'Le médecin a déjà un rendez-vous à cette heure' },
  DUPLICATE_REQUEST: {
    en: 'You already have an appointment request with this doctor at this time',
    fr: 'Vous avez déjà une demande de rendez-vous avec ce médecin à cette heure',
  },
  POSSIBLE_DUPLICATE: {
    en: 'A patient of the same names and birth date is already followed in your hospital; send confirmNotDuplicate: true if this is another person',
    fr: 'Un patient de mêmes nom, prénom et date de naissance est déjà suivi dans votre hôpital ; envoyez confirmNotDuplicate: true s’il s’agit d’une autre personne',
  },
  INVALID_CHARACTER: {
    en: 'The request holds a NUL character, which no text may hold',
    fr: 'La requête contient un caractère NUL, qu’aucun texte ne peut contenir',
  },
  STOW_NOT_AVAILABLE: {
    en: 'Storing through DICOMweb is not available; use the upload',
    fr: 'L’envoi par DICOMweb n’est pas disponible ; utilisez le téléversement',
  },
  TOKEN_EXPIRED: { en: 'The access token has expired', fr: 'Le jeton d’accès a expiré' },
  TOO_LARGE: { en: 'Too large', fr: 'Trop volumineux' },
  TOO_MANY_ATTEMPTS: { en: 'Too many attempts; retry later', fr: 'Trop de tentatives ; réessayez plus tard' },
  TOO_MANY_KEY_IMAGES: { en: 'Too many key images for this study', fr: 'Trop d’images clés pour cet examen' },
  TOO_MANY_SHARES: {
    en: 'You have too many live share links for this study',
    fr: 'Vous avez trop de liens de partage actifs pour cet examen',
  },
  NOT_YOUR_SHARE: {
    en: 'Only the person who shared this link, or the patient, may revoke it',
    fr: 'Seule la personne qui a partagé ce lien, ou le patient, peut le révoquer',
  },
  TOO_MANY_VIEWER_SESSIONS: { en: 'Too many viewer sessions at once', fr: 'Trop de sessions de visualisation ouvertes' },
  TRUNCATED: { en: 'The file is truncated', fr: 'Le fichier est tronqué' },
  UID_CONFLICT: { en: 'This UID already belongs to another patient’s images', fr: 'Cet UID appartient déjà aux images d’un autre patient' },
  UNASSIGNABLE: { en: 'This study cannot be assigned', fr: 'Cet examen ne peut pas être attribué' },
  UNSAFE_PATH: { en: 'Unsafe path in the ZIP archive', fr: 'Chemin dangereux dans l’archive ZIP' },
  UNSUPPORTED: { en: 'Not supported', fr: 'Non pris en charge' },
  UNSUPPORTED_MEDIA_TYPE: { en: 'Unsupported content type', fr: 'Type de contenu non pris en charge' },
  UPLOAD_INCOMPLETE: { en: 'The upload is incomplete or malformed', fr: 'L’envoi est incomplet ou mal formé' },
  VALIDATION_ERROR: { en: 'Invalid input; see details', fr: 'Données invalides ; voir le détail' },
  VIEWER_SESSION_INVALID: { en: 'The viewer session has ended or expired', fr: 'La session de visualisation est terminée ou a expiré' },
  WEAK_PASSWORD: { en: 'The password is too weak', fr: 'Le mot de passe est trop faible' },
  WRONG_PATIENT: { en: 'The file belongs to another patient', fr: 'Le fichier appartient à un autre patient' },
};

/** The locale of `Accept-Language` (q-values honoured), or null when it names neither French nor English. */
export function localeFromHeader(header: string | undefined): Locale | null {
  if (!header) return null;
  const ranked = header
    .split(',')
    .map((part, i) => {
      const [tag, ...params] = part.trim().toLowerCase().split(';');
      const q = Number(params.find((p) => p.trim().startsWith('q='))?.split('=')[1] ?? 1);
      return { lang: tag!.split('-')[0]!, q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((l) => l.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  return (ranked.find((l) => (LOCALES as readonly string[]).includes(l.lang))?.lang as Locale | undefined) ?? null;
}

/** The language of an answer: the account's choice, else the request's Accept-Language, else English. */
export function localeOf(ctx: Context): Locale {
  const account = (ctx.state.auth ?? ctx.state.principal)?.locale as Locale | null | undefined;
  return account ?? localeFromHeader(ctx.get('Accept-Language')) ?? 'en';
}

/** An error's message in the caller's language (English keeps the specific message it was thrown with). */
export function localizedMessage(code: string, message: string, locale: Locale): string {
  return locale === 'en' ? message : (ERROR_MESSAGES[code]?.[locale] ?? message);
}
