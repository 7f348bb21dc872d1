import { DateTime } from 'luxon';

import type { Locale } from '../../../common/http/messages.js';

/** What an appointment message names: who, with whom, where, when (in the doctor's zone). */
export interface AppointmentFacts {
  patientName: string;
  doctorName: string;
  hospitalName: string;
  startsAt: number;
  zone: string;
  /** The former start, for a reschedule. */
  previousStartsAt?: number;
  /** Why it was cancelled, when a reason was given. */
  reason?: string | null;
}

/** A text the service writes itself, in each language an account may choose. */
export type LocalizedText = Record<Locale, string>;

/** Why appointments end without anybody writing a reason: stored in English, told in each reader's language. */
export const AUTOMATIC_REASONS = {
  doctorLeft: {
    en: 'The doctor is no longer available at this hospital; please book with another doctor.',
    fr: 'Le médecin n’exerce plus dans cet hôpital ; prenez rendez-vous avec un autre médecin.',
  },
  doctorUnlinked: {
    en: 'The doctor no longer follows this patient; please book with one of the patient’s doctors.',
    fr: 'Le médecin ne suit plus ce patient ; prenez rendez-vous avec l’un de ses médecins.',
  },
  hospitalClosed: {
    en: 'The hospital no longer takes appointments; please book at another hospital.',
    fr: 'L’hôpital ne prend plus de rendez-vous ; prenez rendez-vous dans un autre hôpital.',
  },
  patientDeactivated: { en: 'The patient’s account was deactivated.', fr: 'Le compte du patient a été désactivé.' },
  expired: {
    en: 'The request was not validated before its time; please request another appointment.',
    fr: 'La demande n’a pas été validée à temps ; demandez un autre rendez-vous.',
  },
} satisfies Record<string, LocalizedText>;

/** The appointment events a person is told about. */
export type AppointmentEvent = 'requested' | 'validated' | 'cancelled' | 'completed' | 'no_show' | 'rescheduled' | 'reminder' | 'expired';

/** A date and time as people read it, in the doctor's zone, e.g. "Tuesday 8 December 2026, 09:00 (CET)". */
export function humanTime(millis: number, zone: string, locale: Locale): string {
  return DateTime.fromMillis(millis, { zone })
    .setLocale(locale === 'fr' ? 'fr-FR' : 'en-GB')
    .toLocaleString({
      weekday: 'long',
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: 'short',
    });
}

type Catalogue = Record<AppointmentEvent, { title: string; body: (f: AppointmentFacts, when: string, before: string) => string }>;

const CATALOGUES: Record<Locale, Catalogue> = {
  en: {
    requested: {
      title: 'Appointment requested',
      body: (f, when) => `${f.patientName} asked for an appointment with Dr ${f.doctorName} (${f.hospitalName}) on ${when}.`,
    },
    validated: {
      title: 'Appointment validated',
      body: (f, when) => `The appointment of ${f.patientName} with Dr ${f.doctorName} (${f.hospitalName}) on ${when} is confirmed.`,
    },
    cancelled: {
      title: 'Appointment cancelled',
      body: (f, when) =>
        `The appointment of ${f.patientName} with Dr ${f.doctorName} (${f.hospitalName}) on ${when} is cancelled.${f.reason ? ` Reason: ${f.reason}` : ''}`,
    },
    completed: {
      title: 'Appointment completed',
      body: (f, when) => `The appointment of ${f.patientName} with Dr ${f.doctorName} (${f.hospitalName}) on ${when} took place.`,
    },
    no_show: {
      title: 'Appointment marked as missed',
      body: (f, when) => `${f.patientName} did not attend the appointment with Dr ${f.doctorName} (${f.hospitalName}) on ${when}.`,
    },
    rescheduled: {
      title: 'Appointment rescheduled',
      body: (f, when, before) =>
        `The appointment of ${f.patientName} with Dr ${f.doctorName} (${f.hospitalName}) moved from ${before} to ${when}.`,
    },
    reminder: {
      title: 'Appointment reminder',
      body: (f, when) => `Reminder: ${f.patientName} has an appointment with Dr ${f.doctorName} (${f.hospitalName}) on ${when}.`,
    },
    expired: {
      title: 'Appointment request expired',
      body: (f, when) =>
        `The request of ${f.patientName} for Dr ${f.doctorName} (${f.hospitalName}) on ${when} was not confirmed in time; please ask for another appointment.`,
    },
  },
  fr: {
    requested: {
      title: 'Rendez-vous demandé',
      body: (f, when) => `${f.patientName} demande un rendez-vous avec le Dr ${f.doctorName} (${f.hospitalName}) le ${when}.`,
    },
    validated: {
      title: 'Rendez-vous validé',
      body: (f, when) => `Le rendez-vous de ${f.patientName} avec le Dr ${f.doctorName} (${f.hospitalName}) le ${when} est confirmé.`,
    },
    cancelled: {
      title: 'Rendez-vous annulé',
      body: (f, when) =>
        `Le rendez-vous de ${f.patientName} avec le Dr ${f.doctorName} (${f.hospitalName}) le ${when} est annulé.${f.reason ? ` Motif : ${f.reason}` : ''}`,
    },
    completed: {
      title: 'Rendez-vous effectué',
      body: (f, when) => `Le rendez-vous de ${f.patientName} avec le Dr ${f.doctorName} (${f.hospitalName}) le ${when} a eu lieu.`,
    },
    no_show: {
      title: 'Rendez-vous manqué',
      body: (f, when) =>
        `${f.patientName} ne s’est pas présenté(e) au rendez-vous avec le Dr ${f.doctorName} (${f.hospitalName}) le ${when}.`,
    },
    rescheduled: {
      title: 'Rendez-vous déplacé',
      body: (f, when, before) =>
        `Le rendez-vous de ${f.patientName} avec le Dr ${f.doctorName} (${f.hospitalName}) est déplacé du ${before} au ${when}.`,
    },
    reminder: {
      title: 'Rappel de rendez-vous',
      body: (f, when) => `Rappel : ${f.patientName} a rendez-vous avec le Dr ${f.doctorName} (${f.hospitalName}) le ${when}.`,
    },
    expired: {
      title: 'Demande de rendez-vous expirée',
      body: (f, when) =>
        `La demande de ${f.patientName} auprès du Dr ${f.doctorName} (${f.hospitalName}) pour le ${when} n’a pas été confirmée à temps ; merci d’en demander un autre.`,
    },
  },
};

/** The title and body of an appointment message, for people: names, local date and time, the former time on a move. */
export function appointmentMessage(
  event: AppointmentEvent,
  facts: AppointmentFacts,
  locale: Locale = 'en',
): { title: string; body: string } {
  const entry = CATALOGUES[locale][event];
  const when = humanTime(facts.startsAt, facts.zone, locale);
  const before = facts.previousStartsAt === undefined ? '' : humanTime(facts.previousStartsAt, facts.zone, locale);
  return { title: entry.title, body: entry.body(facts, when, before) };
}

/** Told to the patient and the doctor when a secretary removes the doctor's link to the patient. */
export function unlinkedMessage(doctorName: string, patientName: string, locale: Locale = 'en'): { title: string; body: string } {
  return locale === 'fr'
    ? {
        title: 'Fin du suivi par un médecin',
        body: `Le Dr ${doctorName} ne suit plus ${patientName} ; son accès au dossier médical et aux images a pris fin.`,
      }
    : {
        title: 'Doctor no longer following',
        body: `Dr ${doctorName} no longer follows ${patientName}; the doctor’s access to the medical record and images has ended.`,
      };
}
